/**
 * WebSocket wire: `/mcp/ws` with subprotocol `mcp-gateway.v1` (envelope
 * mode: `welcome`, `message` with seq, `gap`; the client sends `message`
 * and `ack` envelopes; resume with `session_id` and `last_seq` in the
 * query). If the gateway only speaks subprotocol `mcp` (bare JSON-RPC
 * frames, no seq, no resume), the wire still works, and each reconnect is a
 * new session that the client re-initializes.
 *
 * The token goes in the `token` query parameter: browsers cannot set headers
 * on a WebSocket.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { classifyRefusal, gatewayUrl, WireError, type ResumePoint, type Wire, type WireConfig, type WireEvents, type WebSocketLike } from "./wire.js";

/** Envelope-mode subprotocol. */
export const ENVELOPE_SUBPROTOCOL = "mcp-gateway.v1";
/** Bare JSON-RPC subprotocol. */
export const BARE_SUBPROTOCOL = "mcp";

/** Node's `ws` adds these to the WHATWG API; used when present (never required). */
interface NodeWsExtras {
  on?(event: "ping" | "pong", listener: () => void): void;
  on?(event: "unexpected-response", listener: (req: { destroy(): void }, res: NodeIncoming) => void): void;
  terminate?(): void;
}
interface NodeIncoming {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  on(event: "data", l: (chunk: { toString(): string }) => void): void;
  on(event: "end" | "error" | "close", l: () => void): void;
}

/** Id prefix of the wire's own barrier pings. */
const BARRIER_PREFIX = "gateway-client-barrier-";

/**
 * One WebSocket connection.
 *
 * A request written to a socket that dies a moment later may or may not have
 * reached the gateway, and nothing on the wire says which. So after sending
 * requests the wire sends a barrier (a JSON-RPC ping, which the gateway
 * answers in order on the same socket): its answer proves every request sent
 * before it was received, and their answers will come, live or replayed.
 * Requests still unconfirmed when the socket dies are reported lost (failed
 * with a clear error) rather than left hanging or sent twice.
 */
export class WebSocketWire implements Wire {
  readonly kind = "websocket" as const;
  #ws?: WebSocketLike & NodeWsExtras;
  #closed = false;
  #opened = false;
  #envelope = true;
  #pendingError?: WireError;
  /** Requests sent and not yet confirmed by a barrier answer, with the barrier that will confirm them. */
  #unconfirmed = new Map<string | number, number>();
  #barrier = 0;
  #barrierScheduled = false;

  constructor(
    readonly config: WireConfig,
    readonly events: WireEvents,
  ) {}

  connect(resume?: ResumePoint): void {
    const Ctor = this.config.WebSocket ?? (globalThis as { WebSocket?: WireConfig["WebSocket"] }).WebSocket;
    if (!Ctor) {
      queueMicrotask(() => this.#finish(new WireError("refused", "no WebSocket implementation: pass options.WebSocket (e.g. the ws package) in Node 20")));
      return;
    }
    const http = gatewayUrl(this.config.baseUrl, "mcp/ws", {
      client_id: this.config.clientId,
      token: this.config.token,
      session_id: resume?.sessionId,
      last_seq: resume ? String(resume.lastSeq) : undefined,
    });
    http.protocol = http.protocol === "https:" ? "wss:" : "ws:";
    let ws: WebSocketLike & NodeWsExtras;
    try {
      ws = new Ctor(http.toString(), [ENVELOPE_SUBPROTOCOL, BARE_SUBPROTOCOL]) as WebSocketLike & NodeWsExtras;
    } catch (err) {
      queueMicrotask(() => this.#finish(new WireError("refused", `WebSocket failed: ${(err as Error).message}`, { cause: err })));
      return;
    }
    this.#ws = ws;
    if (typeof ws.on === "function") {
      // Node's ws: server pings are liveness, and a refused upgrade can be read (status + JSON body).
      ws.on("ping", () => this.events.onActivity());
      ws.on("unexpected-response", (req, res) => {
        let body = "";
        res.on("data", (c) => (body += c.toString()));
        let settled = false;
        const done = () => {
          if (settled) return;
          settled = true;
          const ra = res.headers["retry-after"];
          this.#pendingError = classifyRefusal(res.statusCode ?? 0, body, typeof ra === "string" ? ra : null);
          req.destroy();
          this.#finish(this.#pendingError);
        };
        res.on("end", done);
        res.on("error", done);
        res.on("close", done);
      });
    }
    ws.onopen = () => {
      this.events.onActivity();
      this.#envelope = ws.protocol === ENVELOPE_SUBPROTOCOL;
      if (!this.#envelope) {
        // Bare mode: no welcome frame, no session to resume.
        this.#opened = true;
        this.events.onOpen({ resumed: false });
      }
    };
    ws.onmessage = (ev) => this.#onFrame(ev.data);
    ws.onerror = () => {
      // onclose follows with the code; nothing to add here.
    };
    ws.onclose = (ev) => {
      if (this.#pendingError) return this.#finish(this.#pendingError);
      const reason = ev.reason ? `: ${ev.reason}` : "";
      const kind = ev.code === 1008 && /auth/i.test(ev.reason) ? "auth" : this.#opened ? "network" : "refused";
      this.#finish(new WireError(kind, `WebSocket closed with ${ev.code}${reason}`, { status: ev.code }));
    };
  }

  #onFrame(data: unknown): void {
    this.events.onActivity();
    const text = typeof data === "string" ? data : String(data);
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // not JSON: nothing we can deliver
    }
    if (!this.#envelope) {
      if (this.#isBarrierAnswer(frame)) return;
      this.events.onMessage(frame as unknown as JSONRPCMessage, undefined);
      return;
    }
    switch (frame.type) {
      case "message": {
        const seq = typeof frame.seq === "number" ? frame.seq : undefined;
        // A barrier answer still takes a seq: it passes through as an empty slot.
        if (this.#isBarrierAnswer(frame.message)) this.events.onMessage(undefined, seq);
        else this.events.onMessage(frame.message as JSONRPCMessage, seq);
        return;
      }
      case "welcome":
        this.#opened = true;
        this.events.onOpen({
          sessionId: String(frame.session_id),
          lastSeq: typeof frame.last_seq === "number" ? frame.last_seq : undefined,
          resumed: frame.resumed === true,
        });
        return;
      case "gap":
        this.events.onGap(Number(frame.from), Number(frame.to));
        return;
      case "error": {
        // A refusal after the upgrade (e.g. unknown session on resume).
        const err = classifyRefusal(Number(frame.status ?? 0), JSON.stringify(frame));
        this.#pendingError = err;
        return;
      }
      default:
        return; // unknown envelope types are ignored (forward compatible)
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1 || this.#closed) {
      return Promise.reject(new WireError("network", "WebSocket not open", { delivered: "no" }));
    }
    ws.send(JSON.stringify(this.#envelope ? { type: "message", message } : message));
    const m = message as { id?: string | number; method?: string };
    if (m.id !== undefined && m.method !== undefined) {
      this.#unconfirmed.set(m.id, this.#barrier + 1);
      if (!this.#barrierScheduled) {
        this.#barrierScheduled = true;
        // One barrier covers every request sent in the same tick.
        queueMicrotask(() => this.#sendBarrier());
      }
    }
    return Promise.resolve();
  }

  #sendBarrier(): void {
    this.#barrierScheduled = false;
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1 || this.#closed) return;
    const id = `${BARRIER_PREFIX}${++this.#barrier}`;
    const ping = { jsonrpc: "2.0", id, method: "ping" };
    ws.send(JSON.stringify(this.#envelope ? { type: "message", message: ping } : ping));
  }

  #isBarrierAnswer(message: unknown): boolean {
    const m = message as { id?: unknown; method?: unknown } | null;
    if (!m || m.method !== undefined || typeof m.id !== "string" || !m.id.startsWith(BARRIER_PREFIX)) return false;
    const n = Number(m.id.slice(BARRIER_PREFIX.length));
    for (const [id, barrier] of this.#unconfirmed) if (barrier <= n) this.#unconfirmed.delete(id);
    return true;
  }

  ack(seq: number): void {
    const ws = this.#ws;
    if (!this.#envelope || !ws || ws.readyState !== 1) return;
    ws.send(JSON.stringify({ type: "ack", seq }));
  }

  close(endSession = false): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // Without an `end` frame the gateway keeps an envelope session resumable until session.ttl.
      if (endSession && this.#envelope && this.#ws?.readyState === 1) this.#ws.send(JSON.stringify({ type: "end" }));
      this.#ws?.close(1000, "client closing");
    } catch {
      // already closed
    }
  }

  /** Forcibly drops the socket (dead-connection detection). */
  abort(): void {
    const ws = this.#ws;
    if (ws?.terminate) ws.terminate();
    else ws?.close(4000, "heartbeat timeout");
    this.#finish(new WireError("heartbeat", "no sign of life from the gateway within the heartbeat timeout"));
  }

  #finish(error: WireError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of this.#unconfirmed.keys()) {
      this.events.onCallLost?.(id, "it was sent just before the WebSocket dropped and the gateway may not have received it");
    }
    this.#unconfirmed.clear();
    this.events.onClose(error);
  }
}
