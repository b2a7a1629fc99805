/**
 * HTTP+SSE wire (MCP 2024-11-05, as the gateway serves it): `GET /mcp/sse`
 * opens the stream; `endpoint` names where to POST (with the session in its
 * query), `connected` carries the session and its last seq, `message` events
 * carry seq as their id, `heartbeat` events prove the stream alive, `gap`
 * events name what could not be replayed. Resume: `GET /mcp/sse?session_id=S`
 * with `Last-Event-ID: N`.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { readSse, seqOf, type SseEvent } from "./sse-stream.js";
import { classifyRefusal, gatewayUrl, neverSent, WireError, type ResumePoint, type Wire, type WireConfig, type WireEvents } from "./wire.js";

/** One HTTP+SSE stream plus its POST endpoint. */
export class LegacySseWire implements Wire {
  readonly kind = "http_sse" as const;
  #abort = new AbortController();
  #postUrl?: URL;
  #sessionId?: string;
  #closed = false;

  constructor(
    readonly config: WireConfig,
    readonly events: WireEvents,
  ) {}

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...this.config.headers, ...extra };
    if (this.config.token) h.authorization = `Bearer ${this.config.token}`;
    return h;
  }

  connect(resume?: ResumePoint): void {
    void this.#run(resume);
  }

  async #run(resume?: ResumePoint): Promise<void> {
    const url = gatewayUrl(this.config.baseUrl, "mcp/sse", {
      client_id: this.config.clientId,
      session_id: resume?.sessionId,
    });
    const headers = this.#headers({ accept: "text/event-stream" });
    if (resume) headers["last-event-id"] = String(resume.lastSeq);
    let res: Response;
    try {
      res = await this.config.fetch(url, { method: "GET", headers, signal: this.#abort.signal });
    } catch (err) {
      return this.#finish(new WireError("network", `SSE connect failed: ${(err as Error).message}`, { cause: err }));
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      return this.#finish(classifyRefusal(res.status, text, res.headers.get("retry-after")));
    }
    try {
      await readSse(res.body, (e) => this.#onEvent(e), () => this.events.onActivity());
      this.#finish(new WireError("network", "SSE stream ended"));
    } catch (err) {
      this.#finish(new WireError("network", `SSE stream failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  #onEvent(e: SseEvent): void {
    switch (e.event ?? "message") {
      case "endpoint":
        this.#postUrl = new URL(e.data, gatewayUrl(this.config.baseUrl, "mcp/sse"));
        this.#sessionId = this.#postUrl.searchParams.get("session_id") ?? this.#sessionId;
        return;
      case "connected": {
        let info: { session_id?: string; last_seq?: number } = {};
        try {
          info = JSON.parse(e.data);
        } catch {
          // keep what the endpoint told us
        }
        this.#sessionId = info.session_id ?? this.#sessionId;
        this.events.onOpen({ sessionId: this.#sessionId, lastSeq: info.last_seq, resumed: false });
        return;
      }
      case "message": {
        const seq = seqOf(e.id);
        if (e.data === "") {
          if (seq !== undefined) this.events.onMessage(undefined, seq);
          return;
        }
        let message: JSONRPCMessage;
        try {
          message = JSON.parse(e.data);
        } catch {
          return;
        }
        this.events.onMessage(message, seq);
        return;
      }
      case "gap": {
        try {
          const g = JSON.parse(e.data) as { from: number; to: number };
          this.events.onGap(Number(g.from), Number(g.to));
        } catch {
          // malformed gap: ignore
        }
        return;
      }
      default:
        return; // heartbeat and unknown events: liveness only (counted per chunk)
    }
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#postUrl || this.#closed) throw new WireError("network", "SSE stream not open", { delivered: "no" });
    let res: Response;
    try {
      res = await this.config.fetch(this.#postUrl, {
        method: "POST",
        headers: this.#headers({ "content-type": "application/json" }),
        body: JSON.stringify(message),
      });
    } catch (err) {
      throw new WireError("network", `POST failed: ${(err as Error).message}`, { cause: err, delivered: neverSent(err) ? "no" : "unknown" });
    }
    const text = await res.text().catch(() => "");
    if (res.status >= 300) {
      const e = classifyRefusal(res.status, text, res.headers.get("retry-after"));
      (e.info as { delivered?: string }).delivered = "no";
      throw e;
    }
  }

  ack(seq: number): void {
    this.send({ jsonrpc: "2.0", method: "notifications/gateway/ack", params: { seq } }).catch(() => {});
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
  }

  /** Drops the stream (dead-connection detection). */
  abort(): void {
    this.#abort.abort();
    this.#finish(new WireError("heartbeat", "no heartbeat from the gateway within the heartbeat timeout"));
  }

  #finish(error: WireError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.events.onClose(error);
  }
}
