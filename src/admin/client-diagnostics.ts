import type { Gateway } from "../gateway.js";
import type { Session } from "../session/session.js";
import type { ClientTracker, ClientErrorEntry, TraceEntry } from "../telemetry/tracker.js";
import { GatewayError } from "../errors/index.js";
import { backpressureLevel, type BackpressureLevel } from "../middleware/backpressure.js";

/** The guide's backpressure levels (BackpressureManager.should_throttle?), from the backpressure middleware. */
export type { BackpressureLevel };

/** What the diagnostics read: the gateway and its tracker. */
export interface OpsContext {
  gateway: Gateway;
  tracker: ClientTracker;
}

/** One session as the operator sees it. */
export interface SessionView {
  session_id: string;
  client_id: string;
  transport: string;
  connected: boolean;
  age_s: number;
  idle_s: number;
  /** Ms since the client last acknowledged while messages wait (0: nothing waits or it does not ack). */
  lag_ms: number;
  pending_acks: number;
  acks: boolean;
  backpressure: BackpressureLevel;
  buffered_bytes: number;
  /** Messages held for bundling. */
  queued: number;
  /** Non-critical messages dropped under backpressure. */
  dropped: number;
  in_flight: number;
  messages_in: number;
  messages_out: number;
  replay: { size: number; bytes: number };
}

/** Lag of a session: age of its oldest undelivered/unacknowledged message (ms), per the backpressure middleware. */
export function lagOf(_ctx: OpsContext, s: Session): number {
  return backpressureLevel(s).lag_ms;
}

/** A session's figures. */
export function sessionView(_ctx: OpsContext, s: Session, now = Date.now()): SessionView {
  const hasReplay = s.hasReplay;
  const bp = backpressureLevel(s);
  return {
    session_id: s.id,
    client_id: s.clientId,
    transport: s.transport,
    connected: s.sink !== null,
    age_s: Math.round((now - s.createdAt) / 1000),
    idle_s: Math.round(s.idleMs(now) / 1000),
    lag_ms: bp.lag_ms,
    pending_acks: bp.pending_acks,
    acks: bp.opted_in,
    backpressure: bp.level,
    buffered_bytes: bp.buffered_bytes,
    queued: bp.queued,
    dropped: bp.dropped,
    in_flight: s.inflight?.size ?? 0,
    messages_in: s.messagesIn,
    messages_out: s.messagesOut,
    replay: hasReplay ? { size: s.replay.size, bytes: s.replay.bytes } : { size: 0, bytes: 0 },
  };
}

const LEVEL_ORDER: BackpressureLevel[] = ["none", "lagging", "medium", "high"];

/**
 * `Gateway.get_client_info(id)` / `GET /mcp/health/client/:id`: the client's
 * connections, transport, age, lag, backpressure and errors. Unknown client:
 * `client_not_found` (404).
 */
export function clientInfo(ctx: OpsContext, clientId: string, now = Date.now()) {
  const sessions = ctx.gateway.registry.byClient(clientId);
  if (sessions.length === 0 && !ctx.tracker.knows(clientId)) throw new GatewayError("client_not_found", { client_id: clientId });
  const views = sessions.map((s) => sessionView(ctx, s, now));
  const live = views.filter((v) => v.connected);
  const newest = [...views].sort((a, b) => a.age_s - b.age_s)[0];
  const worst = views.reduce<BackpressureLevel>((w, v) => (LEVEL_ORDER.indexOf(v.backpressure) > LEVEL_ORDER.indexOf(w) ? v.backpressure : w), "none");
  const errors = ctx.tracker.errors(clientId);
  const counters = ctx.tracker.counters(clientId);
  return {
    client_id: clientId,
    status: live.length > 0 ? "connected" : sessions.length > 0 ? "detached" : "disconnected",
    connections: live.length,
    sessions: views.length,
    transport: newest?.transport ?? null,
    transports: [...new Set(views.map((v) => v.transport))],
    age_s: views.length ? Math.max(...views.map((v) => v.age_s)) : 0,
    idle_s: views.length ? Math.min(...views.map((v) => v.idle_s)) : null,
    lag_ms: views.length ? Math.max(...views.map((v) => v.lag_ms)) : 0,
    pending_acks: views.reduce((n, v) => n + v.pending_acks, 0),
    backpressure: worst,
    messages_in: views.reduce((n, v) => n + v.messages_in, 0),
    messages_out: views.reduce((n, v) => n + v.messages_out, 0),
    rate_limited: counters.rate_limited,
    throttled: counters.throttled,
    errors: { count: errors.length, last: errors.at(-1) ?? null },
    details: views,
  };
}

/**
 * `GET /mcp/health/client/:id`, which is public (no admin token): the same
 * figures as {@link clientInfo} without what would let a reader act as the
 * client or learn its input. No session ids (with one, anyone could read the
 * replay, post on the session or delete it) and no error texts (they echo
 * client input and upstream internals): errors show their code, time and
 * transport only. The full view is `GET /mcp/admin/clients/:id`.
 */
export function publicClientInfo(ctx: OpsContext, clientId: string, now = Date.now()) {
  const info = clientInfo(ctx, clientId, now);
  const last = info.errors.last;
  return {
    ...info,
    errors: { count: info.errors.count, last: last ? { timestamp: last.timestamp, transport: last.transport ?? null, code: last.code, ...(last.close_code !== undefined ? { close_code: last.close_code } : {}) } : null },
    details: info.details.map(({ session_id: _hidden, ...rest }) => rest),
  };
}

/** `Gateway.trace_client(id)`: the bounded timeline, oldest first. */
export function traceClient(ctx: OpsContext, clientId: string): TraceEntry[] {
  if (!ctx.tracker.knows(clientId) && ctx.gateway.registry.byClient(clientId).length === 0) {
    throw new GatewayError("client_not_found", { client_id: clientId });
  }
  return ctx.tracker.trace(clientId);
}

/** `Gateway.get_client_errors(id, transport)`: recorded failures, optionally of one transport. */
export function clientErrors(ctx: OpsContext, clientId: string, transport?: string): { client_id: string; transport: string | null; errors: ClientErrorEntry[] } {
  if (!ctx.tracker.knows(clientId) && ctx.gateway.registry.byClient(clientId).length === 0) {
    throw new GatewayError("client_not_found", { client_id: clientId });
  }
  return { client_id: clientId, transport: transport ?? null, errors: ctx.tracker.errors(clientId, normalizeTransport(transport)) };
}

/** Accepts the guide's spellings (`:websocket`, `sse`, `http`) for our transport names. */
export function normalizeTransport(t: string | undefined): string | undefined {
  if (t === undefined || t === "") return undefined;
  const name = t.replace(/^:/, "").toLowerCase();
  if (name === "sse" || name === "httpsse" || name === "http-sse") return "http_sse";
  if (name === "http" || name === "streamable-http" || name === "streamable") return "streamable_http";
  if (name === "ws") return "websocket";
  return name;
}

/** One row of the client list (the live console's clients page, `GET /mcp/admin/clients`). */
export interface ClientRow {
  client_id: string;
  status: "connected" | "detached" | "disconnected";
  transport: string | null;
  connections: number;
  sessions: number;
  age_s: number;
  messages_in: number;
  messages_out: number;
  pending_acks: number;
  backpressure: BackpressureLevel;
  lag_ms: number;
  /** Requests refused by the rate limiter (since the tracker first saw the client). */
  rate_limited: number;
  errors: number;
  /** Close code of the client's last closed connection within the hour (null: none, or a stream end). */
  last_close_code: number | null;
}

/**
 * `GET /mcp/admin/clients?q=&limit=`: every client with a session, then those
 * the tracker still remembers, as {@link clientInfo} sees them; `q` matches a
 * substring of the id. Sorted by messages, busiest first; `total` counts all matches.
 */
export function clientList(ctx: OpsContext, q = "", limit = 200, now = Date.now()): { total: number; clients: ClientRow[] } {
  const needle = q.toLowerCase();
  const ids = new Set<string>();
  for (const s of ctx.gateway.registry.all()) ids.add(s.clientId);
  for (const id of ctx.tracker.clientIds()) ids.add(id);
  const lastClose = new Map<string, number | null>();
  for (const c of ctx.tracker.closes(3_600_000, now)) lastClose.set(c.clientId, c.code ?? null);
  const rows: ClientRow[] = [];
  for (const id of ids) {
    if (needle && !id.toLowerCase().includes(needle)) continue;
    const info = clientInfo(ctx, id, now);
    rows.push({
      client_id: id, status: info.status as ClientRow["status"], transport: info.transport, connections: info.connections, sessions: info.sessions, age_s: info.age_s,
      messages_in: info.messages_in, messages_out: info.messages_out, pending_acks: info.pending_acks, backpressure: info.backpressure, lag_ms: info.lag_ms,
      rate_limited: info.rate_limited, errors: info.errors.count, last_close_code: lastClose.get(id) ?? null,
    });
  }
  rows.sort((a, b) => b.messages_in + b.messages_out - (a.messages_in + a.messages_out) || a.client_id.localeCompare(b.client_id));
  return { total: rows.length, clients: rows.slice(0, limit) };
}
