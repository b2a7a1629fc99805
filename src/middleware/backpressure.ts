import type { JsonRpcId, JsonRpcMessage } from "../protocol/jsonrpc.js";
import type { ConfigStore } from "../config/store.js";
import type { GatewayConfig } from "../config/schema.js";
import type { DownstreamSink, OutboundGate, Session } from "../session/session.js";
import { GatewayError, toClose } from "../errors/index.js";
import { channels, log } from "../telemetry/channels.js";
import { idKey } from "../protocol/validate.js";

/**
 * Backpressure levels of the operator's guide, mildest first:
 * `lagging` bundles messages every `bundle_interval`; `medium` halves the
 * delivery rate of non-critical messages; `high` drops them.
 */
export type BackpressureLevel = "none" | "lagging" | "medium" | "high";

/** What the ops endpoints show per client session. */
export interface BackpressureInfo {
  level: BackpressureLevel;
  /** True once the client acked (`notifications/gateway/ack`): only then do pending acks count. */
  opted_in: boolean;
  pending_acks: number;
  /** Age of the oldest undelivered message (ms). */
  lag_ms: number;
  /** Bytes waiting in the client's socket/response buffers. */
  buffered_bytes: number;
  /** Messages waiting in the bundle queue. */
  queued: number;
  /** Non-critical messages dropped so far. */
  dropped: number;
}

type Settings = GatewayConfig["backpressure"];

/** Send times are sampled at most this often (ms) to measure ack lag without one entry per message. */
const CHECKPOINT_EVERY_MS = 100;
/** Most sampled checkpoints kept per session (pairs of seq and time). */
const MAX_CHECKPOINTS = 256;
/** Most messages held in a bundle between flushes. */
const MAX_BUNDLE = 1000;

interface State {
  level: BackpressureLevel;
  /** When the socket buffer was first seen non-empty since it was last seen empty (0: empty). */
  nonEmptySince: number;
  /** [seq, time, seq, time, ...] of sampled sends not yet acked (ack-level lag). */
  checkpoints: number[];
  nonCritical: number;
  dropped: number;
  bundle: Array<{ message: JsonRpcMessage; relatedId: JsonRpcId | undefined }> | null;
  timer: NodeJS.Timeout | null;
  /** The client was closed for not keeping up; nothing more is written until its buffer drains. */
  overflowed: boolean;
  /** Unread socket bytes last seen (counted in the session's BufferBudget while > 0). */
  seenBuffered: number;
}

const states = new WeakMap<Session, State>();

/**
 * Progress and log notifications are the only messages backpressure may drop
 * or thin out: a later progress supersedes an earlier one, and logs are
 * advisory. Responses and requests are never dropped.
 */
export function isCritical(message: JsonRpcMessage): boolean {
  const method = (message as { method?: string }).method;
  if (method === undefined || (message as { id?: unknown }).id !== undefined) return true;
  return method !== "notifications/progress" && method !== "notifications/message";
}

function lagOf(session: Session, st: State, now: number, buffered: number): number {
  const socketLag = buffered > 0 && st.nonEmptySince > 0 ? now - st.nonEmptySince : 0;
  const cp = st.checkpoints;
  let i = 0;
  while (i < cp.length && cp[i]! <= session.ackedSeq) i += 2;
  if (i > 0) cp.splice(0, i);
  const ackLag = session.ackedSeq > 0 && cp.length > 0 ? now - cp[1]! : 0;
  return socketLag > ackLag ? socketLag : ackLag;
}

function levelOf(session: Session, st: State, s: Settings, buffered: number, now: number): BackpressureLevel {
  // Socket-level backpressure applies to everyone: a full buffer means the client is not reading.
  if (buffered >= s.max_buffered_bytes) return "high";
  // Ack-level only for clients that opted in by acking once; plain SDK clients never ack.
  if (session.ackedSeq > 0) {
    const pending = session.pendingAcks;
    if (pending > s.high_pending) return "high";
    if (pending > s.medium_pending) return "medium";
  }
  return lagOf(session, st, now, buffered) > s.lag_threshold ? "lagging" : "none";
}

/**
 * Per-client outbound flow control, installed as every session's
 * `OutboundGate`. One slow client never slows the others: upstream
 * connections are shared, so instead of pausing them the gateway bounds what
 * it holds per client (`backpressure.max_buffered_bytes` of socket buffer, at
 * most 1000 bundled messages), thins or drops non-critical messages, and
 * closes a client that cannot take a critical one (`backpressure_dropped`,
 * WebSocket close 1013; its session stays resumable from the replay buffer).
 */
export class BackpressureController implements OutboundGate {
  /** Sessions whose unread socket bytes count in the budget (resampled every second, as clients drain without new sends). */
  readonly #behind = new Set<Session>();
  #resample: NodeJS.Timeout | null = null;

  constructor(readonly config: ConfigStore) {}

  send(session: Session, sink: DownstreamSink, message: JsonRpcMessage, relatedId: JsonRpcId | undefined): boolean {
    let st = states.get(session);
    const buffered = sink.bufferedBytes === undefined ? 0 : sink.bufferedBytes();
    if (st === undefined) {
      // Never behind and not acking (most sessions, and every idle one): no state until bytes wait in its socket.
      if (buffered === 0 && session.ackedSeq === 0) return this.#deliverFirst(session, sink, message, relatedId);
      states.set(session, (st = newState()));
    }
    if (buffered === 0) {
      st.nonEmptySince = 0;
      st.overflowed = false;
      if (st.seenBuffered !== 0) this.#seen(session, st, 0);
      // Fast path: an empty socket and a client that does not ack cannot be behind.
      if (session.ackedSeq === 0 && st.bundle === null && st.level === "none") return this.#deliver(session, sink, st, message, relatedId);
    } else this.#seen(session, st, buffered);
    const s = this.config.current.backpressure;
    const now = Date.now();
    if (buffered > 0 && st.nonEmptySince === 0) st.nonEmptySince = now;
    if (st.overflowed && buffered < s.max_buffered_bytes / 2) st.overflowed = false;
    if (session.ackedSeq > 0) this.#checkpoint(session, st, now);
    const level = levelOf(session, st, s, buffered, now);
    if (level !== st.level) this.#changed(session, st, level);
    if (level === "none" && st.bundle === null && !(buffered > 0 && session.budget?.over === true)) return this.#deliver(session, sink, st, message, relatedId);

    const critical = isCritical(message);
    // Over the gateway-wide budget (backpressure.max_total_buffered_bytes), a client that is behind counts as full.
    if (buffered >= s.max_buffered_bytes || (buffered > 0 && session.budget?.over === true)) {
      // Socket full: write nothing more to it. The message goes to the (bounded) replay buffer only,
      // so a client that resumes still gets it; a critical one also closes the client.
      withhold(session, sink, message, relatedId);
      if (critical) this.#overflow(session, sink, st, buffered);
      else st.dropped++;
      return false;
    }
    if (!critical && (level === "high" || (level === "medium" && (st.nonCritical++ & 1) === 1))) {
      st.dropped++;
      return false;
    }
    if (level === "lagging" || st.bundle !== null) return this.#enqueue(session, sink, st, s, message, relatedId, critical);
    return this.#deliver(session, sink, st, message, relatedId);
  }

  /** Writes to the sink and notes what is left unread in its socket (for the gateway-wide budget). */
  #deliver(session: Session, sink: DownstreamSink, st: State, message: JsonRpcMessage, relatedId: JsonRpcId | undefined): boolean {
    const ok = sink.deliver(message, relatedId, session);
    if (sink.bufferedBytes !== undefined) {
      const after = sink.bufferedBytes();
      if (after !== st.seenBuffered) this.#seen(session, st, after);
    }
    return ok;
  }

  /** The fast path of a session without state: its state is made only if the write leaves bytes waiting. */
  #deliverFirst(session: Session, sink: DownstreamSink, message: JsonRpcMessage, relatedId: JsonRpcId | undefined): boolean {
    const ok = sink.deliver(message, relatedId, session);
    const after = sink.bufferedBytes === undefined ? 0 : sink.bufferedBytes();
    if (after !== 0) {
      const st = newState();
      states.set(session, st);
      this.#seen(session, st, after);
    }
    return ok;
  }

  #seen(session: Session, st: State, buffered: number): void {
    const budget = session.budget;
    if (budget === undefined) return;
    budget.socketBytes += buffered - st.seenBuffered;
    st.seenBuffered = buffered;
    if (buffered > 0) {
      this.#behind.add(session);
      this.#resample ??= setTimeout(() => this.#resampleBehind(), 1000);
      this.#resample.unref?.();
    } else this.#behind.delete(session);
  }

  /** Clients drain without the gateway sending: re-read the buffers of those that were behind. */
  #resampleBehind(): void {
    this.#resample = null;
    for (const session of [...this.#behind]) {
      const st = states.get(session);
      if (!st) {
        this.#behind.delete(session);
        continue;
      }
      this.#seen(session, st, session.sink?.bufferedBytes?.() ?? 0);
      // Drained and never throttled: the state goes, as it would never have been made. An HTTP response
      // corks its socket until the next tick, so every SSE or GET stream's first message made one (~160 B
      // each for the stream's lifetime, ADR 0200); the next send that finds bytes waiting makes it again.
      if (isPristine(session, st)) states.delete(session);
    }
  }

  /** Flushes and forgets a session's state (its session ended). */
  release(session: Session): void {
    const st = states.get(session);
    if (st?.timer) clearTimeout(st.timer);
    if (st && st.seenBuffered !== 0) this.#seen(session, st, 0);
    this.#behind.delete(session);
    states.delete(session);
  }

  #checkpoint(session: Session, st: State, now: number): void {
    const cp = st.checkpoints;
    const last = cp.length > 0 ? cp[cp.length - 1]! : 0;
    if (now - last >= CHECKPOINT_EVERY_MS && cp.length < MAX_CHECKPOINTS * 2) cp.push(session.lastSeq + 1, now);
  }

  #enqueue(session: Session, sink: DownstreamSink, st: State, s: Settings, message: JsonRpcMessage, relatedId: JsonRpcId | undefined, critical: boolean): boolean {
    const bundle = (st.bundle ??= []);
    if (bundle.length >= MAX_BUNDLE) {
      if (!critical) {
        st.dropped++;
        return false;
      }
      withhold(session, sink, message, relatedId);
      this.#overflow(session, sink, st, sink.bufferedBytes?.() ?? 0);
      return false;
    }
    bundle.push({ message, relatedId });
    st.timer ??= setTimeout(() => this.#flush(session), s.bundle_interval);
    return true;
  }

  /** Delivers a bundle back to back, in order, re-checking the socket as it goes. */
  #flush(session: Session): void {
    const st = states.get(session);
    if (!st) return;
    st.timer = null;
    const bundle = st.bundle ?? [];
    st.bundle = null;
    if (session.closed) return;
    const s = this.config.current.backpressure;
    for (const { message, relatedId } of bundle) {
      const sink = session.sink;
      if (!sink) {
        // Detached meanwhile: keep it for the client's resume, as Session.send does.
        session.record(JSON.stringify(message), relatedId === undefined ? "get" : idKey(relatedId));
        continue;
      }
      const buffered = sink.bufferedBytes?.() ?? 0;
      if (buffered >= s.max_buffered_bytes) {
        withhold(session, sink, message, relatedId);
        if (isCritical(message)) this.#overflow(session, sink, st, buffered);
        else st.dropped++;
        continue;
      }
      this.#deliver(session, sink, st, message, relatedId);
    }
    // Re-evaluate now that the bundle went out; the next send may find "none" again.
    const sink = session.sink;
    if (sink) {
      const buffered = sink.bufferedBytes?.() ?? 0;
      const level = levelOf(session, st, s, buffered, Date.now());
      if (level !== st.level) this.#changed(session, st, level);
    }
  }

  #overflow(session: Session, sink: DownstreamSink, st: State, buffered: number): void {
    if (st.overflowed) return;
    st.overflowed = true;
    session.closeReason = "backpressure_dropped";
    if (channels.client.hasSubscribers) channels.client.publish({ type: "backpressure_dropped", clientId: session.clientId, sessionId: session.id, buffered_bytes: buffered });
    log("warn", "MCP.Backpressure", `closing ${session.clientId}: ${buffered} bytes unread, a critical message would exceed backpressure.max_buffered_bytes`, { clientId: session.clientId });
    const { code, reason } = toClose(new GatewayError("backpressure_dropped"));
    sink.close(code, reason);
  }

  #changed(session: Session, st: State, level: BackpressureLevel): void {
    const previous = st.level;
    st.level = level;
    if (channels.client.hasSubscribers) {
      channels.client.publish({ type: "throttled", level, previous, clientId: session.clientId, sessionId: session.id, pending_acks: session.pendingAcks });
    }
  }
}

/**
 * Keeps a message the socket has no room for in the session's replay buffer,
 * on the stream the sink would have used, without writing it: a resume
 * (WebSocket `last_seq`, SSE `Last-Event-ID`) delivers it. Bounded by the
 * replay buffer's own limits.
 */
function withhold(session: Session, sink: DownstreamSink, message: JsonRpcMessage, relatedId: JsonRpcId | undefined): void {
  let stream: string;
  if (sink.kind === "streamable_http") stream = relatedId === undefined ? "get" : idKey(relatedId);
  else stream = sink.kind === "websocket" ? "ws" : sink.kind === "http_sse" ? "sse" : "phx";
  session.record(JSON.stringify(message), stream);
}

/** Nothing a state holds that a session without one would not show the same (level none, nothing queued or counted, drained). */
function isPristine(session: Session, st: State): boolean {
  return session.ackedSeq === 0 && st.level === "none" && st.bundle === null && st.timer === null && !st.overflowed && st.dropped === 0 && st.nonCritical === 0 && st.seenBuffered === 0;
}

function newState(): State {
  return { level: "none", nonEmptySince: 0, checkpoints: [], nonCritical: 0, dropped: 0, bundle: null, timer: null, overflowed: false, seenBuffered: 0 };
}

/**
 * The backpressure figures of one session, for the client-info endpoints
 * (`/mcp/health/client/:client_id`). `level` is the level of the last send.
 */
export function backpressureLevel(session: Session): BackpressureInfo {
  const st = states.get(session);
  const buffered = session.sink?.bufferedBytes?.() ?? 0;
  const now = Date.now();
  return {
    level: st?.level ?? "none",
    opted_in: session.ackedSeq > 0,
    pending_acks: session.ackedSeq > 0 ? session.pendingAcks : 0,
    lag_ms: st ? lagOf(session, st, now, buffered) : 0,
    buffered_bytes: buffered,
    queued: st?.bundle?.length ?? 0,
    dropped: st?.dropped ?? 0,
  };
}
