import type WebSocket from "ws";
import { wsPackage } from "../../lazy-packages.js";
import type { JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../../protocol/transport.js";
import { UpstreamTransportError, parseUpstreamMessage, upstreamErrorResponse, upstreamLabel } from "./errors.js";

/** Options of {@link WebSocketUpstreamTransport}. */
export interface WebSocketUpstreamOptions {
  /** The upstream's WebSocket URL, e.g. `ws://127.0.0.1:3001/mcp`. */
  url: string;
  /** Extra headers on the upgrade request (e.g. the upstream's own `Authorization`). */
  headers?: Record<string, string>;
  /** Names the upstream in error messages and `data.upstream` (default: the URL without its query). */
  name?: string;
  /** Subprotocols to offer (default `"mcp"`). */
  protocols?: string | string[];
  /** Longest wait for the opening handshake, in ms (default 30000). */
  handshakeTimeoutMs?: number;
  /** `send` returns false once this many bytes wait in the socket buffer (default 1 MiB). */
  maxBufferedBytes?: number;
  /** How often the buffer is checked while backpressured, in ms (default 5). */
  drainPollMs?: number;
  /**
   * Ping interval in ms (default 30000; 0 disables). A peer that has not
   * answered (pong or any message) by the next ping is considered dead.
   */
  pingIntervalMs?: number;
  /** Largest accepted incoming message in bytes (default 64 MiB). */
  maxPayload?: number;
}

/**
 * WebSocket client transport toward an upstream MCP server: subprotocol
 * `mcp`, one JSON-RPC message per text frame, parsed once with JSON.parse.
 *
 * Backpressure: `send` returns false once `bufferedAmount` exceeds
 * `maxBufferedBytes` (the message is still queued); a timer then polls the
 * buffer — only while backpressured — and `ondrain` fires when it has fallen
 * to half. (`ws` exposes no drain event of its own.)
 *
 * If the connection drops without `close()`, every request still awaiting its
 * reply gets a JSON-RPC error response (catalogue `upstream_unavailable`),
 * `onerror` reports the close code, and `onclose` follows. After `close()` no
 * replies are fabricated: `onclose` tells the owner.
 */
export class WebSocketUpstreamTransport implements Transport {
  onmessage?: (message: JsonRpcMessage, extra?: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  ondrain?: () => void;
  sessionId?: string;

  readonly #options: WebSocketUpstreamOptions;
  readonly #name: string;
  readonly #maxBuffered: number;
  readonly #lowWater: number;
  readonly #pollMs: number;
  /** Requests sent and not yet answered: they get error responses if the socket dies. */
  readonly #pending = new Set<JsonRpcId>();
  #ws: WebSocket | undefined;
  #closing = false;
  #closed = false;
  #alive = true;
  #opened = false;
  #pingTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #closedPromise: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  constructor(options: WebSocketUpstreamOptions) {
    this.#options = options;
    this.#name = options.name ?? upstreamLabel(new URL(options.url));
    this.#maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.#lowWater = this.#maxBuffered >> 1;
    this.#pollMs = options.drainPollMs ?? 5;
  }

  /** Bytes queued but not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Connects; resolves once the handshake completed, rejects with an {@link UpstreamTransportError} otherwise. */
  start(): Promise<void> {
    if (this.#ws !== undefined) return Promise.reject(new Error("transport already started"));
    const o = this.#options;
    const ws = new (wsPackage().WebSocket)(o.url, o.protocols ?? "mcp", {
      headers: o.headers,
      handshakeTimeout: o.handshakeTimeoutMs ?? 30_000,
      maxPayload: o.maxPayload ?? 64 * 1024 * 1024,
      // MCP frames are small JSON; deflate costs more CPU than it saves on loopback/LAN.
      perMessageDeflate: false,
    });
    this.#ws = ws;
    this.#closedPromise = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
    // Handlers are bound methods, installed once per connection, not per message.
    ws.on("message", this.#onMessage);
    ws.on("close", this.#onClose);
    ws.on("pong", this.#onPong);
    // Permanent, so a second error during a failed handshake never goes unhandled.
    ws.on("error", this.#onError);
    return new Promise<void>((resolve, reject) => {
      const onOpen = (): void => {
        ws.off("error", onEarlyError);
        ws.off("unexpected-response", onUnexpected);
        this.#opened = true;
        const every = o.pingIntervalMs ?? 30_000;
        if (every > 0) {
          this.#pingTimer = setInterval(this.#ping, every);
          this.#pingTimer.unref();
        }
        resolve();
      };
      const onEarlyError = (err: Error): void => {
        ws.off("open", onOpen);
        this.#closing = true;
        reject(new UpstreamTransportError("upstream_unavailable", `upstream WebSocket unreachable: ${err.message}`, { cause: err }));
      };
      const onUnexpected = (_req: unknown, res: { statusCode?: number; resume(): void }): void => {
        res.resume();
        ws.off("open", onOpen);
        this.#closing = true;
        ws.terminate();
        reject(
          new UpstreamTransportError("upstream_error", `upstream refused the WebSocket upgrade (${res.statusCode})`, {
            status: res.statusCode,
          }),
        );
      };
      ws.once("open", onOpen);
      ws.once("error", onEarlyError);
      ws.once("unexpected-response", onUnexpected);
    });
  }

  /**
   * Sends one message as a text frame. Returns false when the socket buffer is
   * over `maxBufferedBytes` (the message is still queued); `ondrain` follows.
   * Throws when the socket is not open.
   */
  send(message: JsonRpcMessage): boolean {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== ws.OPEN) throw new Error("transport closed");
    const m = message as { id?: JsonRpcId; method?: string };
    if (m.method !== undefined && m.id !== undefined) this.#pending.add(m.id);
    ws.send(JSON.stringify(message));
    if (ws.bufferedAmount <= this.#maxBuffered) return true;
    if (this.#drainTimer === undefined) this.#drainTimer = setInterval(this.#pollDrain, this.#pollMs);
    return false;
  }

  /** Closes with code 1000 and resolves once the socket is closed (terminating it after 5 s). Idempotent. */
  async close(): Promise<void> {
    const ws = this.#ws;
    if (ws === undefined) {
      if (!this.#closed) {
        this.#closed = true;
        this.onclose?.();
      }
      return;
    }
    if (!this.#closed) {
      this.#closing = true;
      if (ws.readyState === ws.CONNECTING) ws.terminate();
      else ws.close(1000);
      const t = setTimeout(() => ws.terminate(), 5000);
      t.unref();
      await this.#closedPromise;
      clearTimeout(t);
    }
  }

  #onMessage = (data: WebSocket.RawData): void => {
    this.#alive = true;
    // With the default binaryType ("nodebuffer") every message, text or binary, is one Buffer.
    const msg = parseUpstreamMessage((data as Buffer).toString("utf8"), this.onerror);
    if (msg === undefined) return;
    const m = msg as { id?: JsonRpcId; method?: string };
    if (m.method === undefined && m.id !== undefined) this.#pending.delete(m.id);
    this.onmessage?.(msg);
  };

  #onClose = (code: number, reason: Buffer): void => {
    this.#clearTimers();
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#closing) {
      const why = `upstream WebSocket closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})`;
      const err = new UpstreamTransportError("upstream_unavailable", why);
      // Nothing will answer the outstanding requests any more.
      for (const id of this.#pending) this.onmessage?.(upstreamErrorResponse(id, err, this.#name));
      this.onerror?.(err);
    }
    this.#pending.clear();
    this.#resolveClosed?.();
    this.onclose?.();
  };

  #onError = (err: Error): void => {
    // Before open, start() rejects instead. After open 'close' always follows; this only reports.
    if (!this.#opened) return;
    this.onerror?.(new UpstreamTransportError("upstream_unavailable", `upstream WebSocket error: ${err.message}`, { cause: err }));
  };

  #onPong = (): void => {
    this.#alive = true;
  };

  #ping = (): void => {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== ws.OPEN) return;
    if (!this.#alive) {
      // No sign of life for a whole interval: a half-open TCP connection.
      ws.terminate();
      return;
    }
    this.#alive = false;
    ws.ping();
  };

  #pollDrain = (): void => {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== ws.OPEN) {
      this.#stopDrainTimer();
      return;
    }
    if (ws.bufferedAmount > this.#lowWater) return;
    this.#stopDrainTimer();
    this.ondrain?.();
  };

  #stopDrainTimer(): void {
    if (this.#drainTimer !== undefined) {
      clearInterval(this.#drainTimer);
      this.#drainTimer = undefined;
    }
  }

  #clearTimers(): void {
    this.#stopDrainTimer();
    if (this.#pingTimer !== undefined) {
      clearInterval(this.#pingTimer);
      this.#pingTimer = undefined;
    }
  }
}
