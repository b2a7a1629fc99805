// Helpers for the hostile-input tests (issue 11): a trap that fails a test when the gateway
// process throws past its handlers, and raw WebSocket/Phoenix clients that send exactly the
// frames a test gives them and wait for frames by predicate (no sleeps).
import WebSocket from "ws";

/**
 * Records every uncaughtException / unhandledRejection while installed (a listener
 * keeps Node from exiting, so the test can report it). `assertNone()` throws with
 * the first one.
 */
export function trapCrashes(): { assertNone(): void; dispose(): void; readonly errors: unknown[] } {
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return {
    errors,
    assertNone() {
      if (errors.length > 0) throw new Error(`the gateway process threw past its handlers: ${(errors[0] as Error)?.stack ?? String(errors[0])}`);
    },
    dispose() {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    },
  };
}

/** A WebSocket that keeps every text frame it got and can wait for one matching a predicate. */
export class FrameSocket {
  readonly frames: unknown[] = [];
  #waiters: Array<{ match: (f: any) => boolean; resolve: (f: any) => void }> = [];
  closed?: { code: number; reason: string };
  #onClose: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      let f: unknown;
      try {
        f = JSON.parse(data.toString());
      } catch {
        f = data.toString();
      }
      this.frames.push(f);
      for (const w of [...this.#waiters]) {
        if (w.match(f)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(f);
        }
      }
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const c of this.#onClose) c();
    });
    ws.on("error", () => {});
  }

  /** Opens `url` (ws://...) with `protocols`; resolves once open. */
  static async open(url: string, protocols?: string | string[], headers?: Record<string, string>): Promise<FrameSocket> {
    const ws = new WebSocket(url, protocols, { headers });
    // Listening from the start: a first frame can arrive in the same read as the handshake.
    const socket = new FrameSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    });
    return socket;
  }

  /** Sends raw text. */
  send(text: string): void {
    this.ws.send(text);
  }

  /** Resolves with the first frame (already received or later) that matches. */
  next(match: (f: any) => boolean, label = "frame"): Promise<any> {
    const seen = this.frames.find(match);
    if (seen !== undefined) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (f: any) => {
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      };
      this.#waiters.push(w);
      this.#onClose.push(() => reject(new Error(`socket closed (${this.closed?.code}) while waiting for ${label}`)));
    });
  }

  /** Resolves when the socket has closed. */
  whenClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.#onClose.push(() => resolve(this.closed!)));
  }

  close(): Promise<unknown> {
    if (this.closed) return Promise.resolve();
    const done = this.whenClosed();
    this.ws.close();
    return done;
  }
}

/** The JSON-RPC message inside a frame: bare, or the `mcp-gateway.v1` envelope's `message`. */
export function rpcOf(frame: any): any {
  return frame && frame.type === "message" ? frame.message : frame;
}

/** A JSON-RPC `initialize` request with id `id`. */
export function initialize(id: number | string = 1): Record<string, unknown> {
  return { jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "edge-test", version: "1" } } };
}
