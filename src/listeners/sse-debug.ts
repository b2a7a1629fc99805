import type { ServerResponse } from "node:http";
import type { GatewayConfig } from "../config/schema.js";
import type { Session } from "../session/session.js";
import { channels, type CallEvent, type MessageEvent } from "../telemetry/channels.js";
import { sseEvent } from "./sse-writer.js";

/**
 * The guide's SSE debugging snippet: `GET /mcp/sse?client_id=debug_user&debug=true`
 * gets `debug` events on its own stream besides the usual ones:
 * - `received`: a message the client posted (method, id, bytes);
 * - `sent`: a message delivered on the stream with its sequence number (the SSE id);
 * - `routed`: a call answered by an upstream (upstream and replica picked, duration_ms, ok).
 * Only this session's own traffic. Honoured in the dev profile, or when the
 * gateway's `debug` switch is on (`mcp-gateway logging set debug on`);
 * otherwise the stream gets one `debug` event saying why it is off.
 */
export class SseDebugTap {
  readonly #onMessage = (e: unknown) => {
    const m = e as MessageEvent;
    if (m.sessionId === this.session.id && m.direction === "inbound") this.emit({ type: "received", method: m.method ?? null, bytes: m.size });
  };
  readonly #onCall = (e: unknown) => {
    const c = e as CallEvent;
    if (c.sessionId === this.session.id) this.emit({ type: "routed", method: c.method, upstream: c.upstream, replica: c.replica ?? null, duration_ms: c.durationMs, ok: c.ok });
  };

  private constructor(
    readonly res: ServerResponse,
    readonly session: Session,
  ) {
    channels.message.subscribe(this.#onMessage);
    channels.call.subscribe(this.#onCall);
    res.once("close", () => this.close());
  }

  /** Starts a tap when the request asked for one; null otherwise. A refused request is told why on the stream. */
  static open(debugParam: string | null, config: GatewayConfig, res: ServerResponse, session: Session): SseDebugTap | null {
    if (debugParam !== "true" && debugParam !== "1") return null;
    if (config.profile !== "dev" && !config.debug) {
      res.write(sseEvent(JSON.stringify({ type: "debug_disabled", reason: "debug events need the dev profile or the debug switch (mcp-gateway logging set debug on)" }), undefined, "debug"));
      return null;
    }
    const tap = new SseDebugTap(res, session);
    tap.emit({ type: "debug_enabled", session_id: session.id, client_id: session.clientId, last_seq: session.lastSeq });
    return tap;
  }

  /** A delivered message and its sequence number (called by the sink right after writing it). */
  sent(message: unknown, seq: number | undefined, bytes: number): void {
    const m = message as { id?: unknown; method?: unknown };
    this.emit({ type: "sent", seq: seq ?? null, id: m.id ?? null, method: typeof m.method === "string" ? m.method : null, bytes });
  }

  emit(data: Record<string, unknown>): void {
    if (!this.res.writableEnded) this.res.write(sseEvent(JSON.stringify({ ts: Date.now(), ...data }), undefined, "debug"));
  }

  close(): void {
    channels.message.unsubscribe(this.#onMessage);
    channels.call.unsubscribe(this.#onCall);
  }
}
