import type { CallEvent, ClientEvent, ClientTransportKind, ConnectionEvent, ErrorEvent, MessageEvent } from "./channels.js";
import type { TelemetrySink } from "./hub.js";
import { MAX_RETAINED_STRING, truncate, truncateFields } from "../errors/truncate.js";

/** One entry of a client's trace (the guide's Gateway.trace_client output). */
export interface TraceEntry {
  timestamp: string;
  /** connected | disconnected | message_sent | message_received | transport_switch | rate_limited | throttled | error | session_ended | ... */
  event: string;
  transport?: ClientTransportKind;
  [key: string]: unknown;
}

/** One recorded failure of a client. */
export interface ClientErrorEntry {
  timestamp: string;
  transport?: ClientTransportKind;
  code: string;
  message: string;
  close_code?: number;
}

/** One closed client connection (for the 1006 analysis). */
export interface CloseRecord {
  at: number;
  clientId: string;
  transport: ClientTransportKind;
  code?: number;
  reason?: string;
  /** How long the connection had lived (ms). */
  age_ms?: number;
}

/** Bounds: every list here is capped so a busy or hostile client cannot grow memory. */
export interface TrackerLimits {
  /** Lifecycle entries kept per client (connected, transport_switch, rate_limited, error, ...). */
  traceEntries: number;
  /** Message entries kept per client (message_sent / message_received), in their own ring so traffic cannot push lifecycle events out. */
  messageEntries: number;
  errorEntries: number;
  connectTimes: number;
  closeRecords: number;
  clients: number;
  /** Longest string kept in any entry (characters); longer ones are cut (`diagnostics.max_string_length`). */
  maxString: number;
  /** Estimated bytes of every client's entries together; past it the least recently added clients are forgotten (`diagnostics.max_bytes`). */
  maxBytes: number;
}

const DEFAULT_LIMITS: TrackerLimits = { traceEntries: 100, messageEntries: 50, errorEntries: 50, connectTimes: 20, closeRecords: 10_000, clients: 10_000, maxString: MAX_RETAINED_STRING, maxBytes: 32 * 1024 * 1024 };

/** Fixed cost of one stored entry besides its strings (object, slots, numbers), for the byte budget. */
const ENTRY_OVERHEAD = 96;

/** Estimated bytes of an entry: its strings (UTF-16, 2 bytes a char) plus a fixed overhead. */
function sizeOf(entry: object): number {
  let n = ENTRY_OVERHEAD;
  for (const v of Object.values(entry)) {
    if (typeof v === "string") n += 2 * v.length;
    else if (v !== null && typeof v === "object") n += sizeOf(v);
  }
  return n;
}

/** A fixed-size ring: push is O(1), oldest entries fall out. */
class Ring<T> {
  #items: T[] = [];
  #start = 0;
  constructor(readonly cap: number) {}
  /** Adds an item; returns the one it pushed out, if the ring was full. */
  push(item: T): T | undefined {
    if (this.#items.length < this.cap) {
      this.#items.push(item);
      return undefined;
    }
    const out = this.#items[this.#start];
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.cap;
    return out;
  }
  toArray(): T[] {
    return [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
  get length(): number {
    return this.#items.length;
  }
}

/** A trace entry as stored: the time as a number, formatted only when read (no per-message Date strings). */
interface StoredEntry {
  at: number;
  /** Arrival order across both rings (timestamps tie within a millisecond). */
  n: number;
  entry: Omit<TraceEntry, "timestamp">;
}

interface ClientRecord {
  trace: Ring<StoredEntry>;
  /** Created on a client's first message / error: most idle clients never fill them (see #ringOf). */
  messages?: Ring<StoredEntry>;
  errors?: Ring<ClientErrorEntry>;
  connects: Ring<number>;
  rateLimited: number;
  throttled: number;
  lastSeen: number;
  /** Estimated bytes of this client's entries (for the tracker's byte budget). */
  bytes: number;
}

const MINUTE = 60_000;
/** Minutes of per-minute counters kept (error rate windows up to this). */
const BUCKETS = 60;

/**
 * Per-client memory of what happened: bounded traces, errors by transport,
 * connect times (rapid reconnects), closes with their codes (1006 analysis),
 * and per-minute message and error counts (error rate).
 * Fed by the TelemetryHub; read by the admin diagnostics.
 */
export class ClientTracker implements TelemetrySink {
  readonly #limits: TrackerLimits;
  readonly #clients = new Map<string, ClientRecord>();
  readonly #closes: Ring<CloseRecord>;
  #n = 0;
  /** Estimated bytes of every client record (see TrackerLimits.maxBytes). */
  #bytes = 0;
  readonly #connectedAt = new Map<string, number>();
  readonly #minute = new Float64Array(BUCKETS);
  readonly #inbound = new Float64Array(BUCKETS);
  readonly #outbound = new Float64Array(BUCKETS);
  readonly #errors = new Float64Array(BUCKETS);
  readonly totals = { inbound: 0, outbound: 0, errors: 0, connections: 0, disconnections: 0, rate_limited: 0, throttled: 0, gaps: 0 };
  /** When each recent sequencing gap was reported (bounded), with its client: the doctor's "message ordering". */
  readonly #gaps: Array<{ at: number; clientId: string; missed: number }> = [];

  constructor(limits: Partial<TrackerLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#closes = new Ring(this.#limits.closeRecords);
  }

  #client(id: string, now: number): ClientRecord {
    let c = this.#clients.get(id);
    if (!c) {
      if (this.#clients.size >= this.#limits.clients) this.#evictOldest();
      c = { trace: new Ring(this.#limits.traceEntries), connects: new Ring(this.#limits.connectTimes), rateLimited: 0, throttled: 0, lastSeen: now, bytes: 2 * id.length + ENTRY_OVERHEAD };
      this.#clients.set(id, c);
      this.#bytes += c.bytes;
    }
    c.lastSeen = now;
    return c;
  }

  #evictOldest(except?: ClientRecord): boolean {
    // Map iteration order is insertion order; re-inserting on use is not worth it: drop the first.
    for (const [id, c] of this.#clients) {
      if (c === except) continue;
      this.#clients.delete(id);
      this.#bytes -= c.bytes;
      return true;
    }
    return false;
  }

  /** Pushes an entry into one of a client's rings, keeping the byte count and the budget. */
  #keep<T extends object>(c: ClientRecord, ring: Ring<T>, entry: T): void {
    const added = sizeOf(entry);
    const out = ring.push(entry);
    const delta = added - (out === undefined ? 0 : sizeOf(out));
    c.bytes += delta;
    this.#bytes += delta;
    while (this.#bytes > this.#limits.maxBytes && this.#evictOldest(c)) {}
  }

  /** Strings from client input (methods, reasons, error texts) are cut before they are kept. */
  #cut(s: string): string;
  #cut(s: string | undefined): string | undefined;
  #cut(s: string | undefined): string | undefined {
    return s === undefined ? undefined : truncate(s, this.#limits.maxString);
  }

  /** Estimated bytes kept by the tracker (client records; the close ring is bounded by count and cut strings). */
  get retainedBytes(): number {
    return this.#bytes;
  }

  #bucket(arr: Float64Array, now: number, n = 1): void {
    const m = Math.floor(now / MINUTE);
    const i = m % BUCKETS;
    if (this.#minute[i] !== m) {
      this.#minute[i] = m;
      this.#inbound[i] = 0;
      this.#outbound[i] = 0;
      this.#errors[i] = 0;
    }
    arr[i]! += n;
  }

  #trace(clientId: string, entry: Omit<TraceEntry, "timestamp">, now = Date.now()): void {
    const c = this.#client(clientId, now);
    this.#keep(c, c.trace, { at: now, n: this.#n++, entry: truncateFields(entry, this.#limits.maxString) });
  }

  connection(e: ConnectionEvent): void {
    const now = Date.now();
    if (e.type === "connected") {
      this.totals.connections++;
      this.#connectedAt.set(e.sessionId, now);
      this.#client(e.clientId, now).connects.push(now);
      this.#trace(e.clientId, { event: "connected", transport: e.transport, session_id: e.sessionId }, now);
      return;
    }
    this.totals.disconnections++;
    const started = this.#connectedAt.get(e.sessionId);
    this.#connectedAt.delete(e.sessionId);
    this.#closes.push({ at: now, clientId: e.clientId, transport: e.transport, code: e.closeCode, reason: this.#cut(e.reason), age_ms: started === undefined ? undefined : now - started });
    this.#trace(e.clientId, { event: "disconnected", transport: e.transport, close_code: e.closeCode ?? null, reason: e.reason ?? null }, now);
    if (e.closeCode !== undefined && e.closeCode !== 1000 && e.closeCode !== 1001 && e.closeCode !== 1005) {
      // An abnormal close is an error (as in gateway_errors_total{type="connection"}).
      this.totals.errors++;
      this.#bucket(this.#errors, now);
      const c = this.#client(e.clientId, now);
      this.#keep(c, (c.errors ??= new Ring(this.#limits.errorEntries)), { timestamp: new Date(now).toISOString(), transport: e.transport, code: `close_${e.closeCode}`, message: this.#cut(e.reason || closeMeaning(e.closeCode)), close_code: e.closeCode });
    }
  }

  message(e: MessageEvent): void {
    const now = Date.now();
    if (e.direction === "inbound") {
      this.totals.inbound++;
      this.#bucket(this.#inbound, now);
      const c = this.#client(e.clientId, now);
      this.#keep(c, (c.messages ??= new Ring(this.#limits.messageEntries)), { at: now, n: this.#n++, entry: { event: "message_received", transport: e.transport, size: e.size, ...(e.method ? { method: this.#cut(e.method) } : {}) } });
    } else {
      this.totals.outbound++;
      this.#bucket(this.#outbound, now);
      const c = this.#client(e.clientId, now);
      this.#keep(c, (c.messages ??= new Ring(this.#limits.messageEntries)), { at: now, n: this.#n++, entry: { event: "message_sent", transport: e.transport, size: e.size } });
    }
  }

  call(_e: CallEvent): void {}

  error(e: ErrorEvent): void {
    const now = Date.now();
    this.totals.errors++;
    this.#bucket(this.#errors, now);
    if (e.clientId === undefined) return;
    const c = this.#client(e.clientId, now);
    const message = this.#cut(e.message);
    this.#keep(c, (c.errors ??= new Ring(this.#limits.errorEntries)), { timestamp: new Date(now).toISOString(), transport: e.transport, code: e.code, message });
    this.#trace(e.clientId, { event: "error", transport: e.transport, code: e.code, message }, now);
  }

  client(e: ClientEvent): void {
    const now = Date.now();
    const { type, clientId, sessionId, ...rest } = e;
    const c = this.#client(clientId, now);
    if (type === "rate_limited") {
      c.rateLimited++;
      this.totals.rate_limited++;
    } else if (type === "throttled") {
      c.throttled++;
      this.totals.throttled++;
    } else if (type === "gap") {
      this.totals.gaps++;
      this.#gaps.push({ at: now, clientId, missed: Number(rest.to) - Number(rest.from) + 1 });
      if (this.#gaps.length > 1000) this.#gaps.shift();
    }
    // snake_case like every other trace field (the operator reads JSON).
    this.#trace(clientId, { event: type, ...(sessionId !== undefined ? { session_id: sessionId } : {}), ...rest } as Omit<TraceEntry, "timestamp">, now);
  }

  /** Sequencing gaps reported to clients within the last `windowMs` (resumes past the replay buffer). */
  gaps(windowMs: number, now = Date.now()): Array<{ at: number; clientId: string; missed: number }> {
    return this.#gaps.filter((g) => now - g.at <= windowMs);
  }

  /** A session ended without a disconnect event (DELETE, TTL expiry, admin close). */
  sessionEnded(clientId: string, sessionId: string, transport: ClientTransportKind, reason?: string): void {
    this.#connectedAt.delete(sessionId);
    this.#trace(clientId, { event: "session_ended", transport, session_id: sessionId, ...(reason ? { reason } : {}) });
  }

  /** The client's timeline, oldest first: lifecycle and message entries merged by time. */
  trace(clientId: string): TraceEntry[] {
    const c = this.#clients.get(clientId);
    if (!c) return [];
    const merged = [...c.trace.toArray(), ...(c.messages?.toArray() ?? [])].sort((a, b) => a.n - b.n);
    return merged.map(({ at, entry }) => ({ timestamp: new Date(at).toISOString(), ...entry }) as TraceEntry);
  }

  /** The client's recorded errors, optionally only those on one transport. */
  errors(clientId: string, transport?: string): ClientErrorEntry[] {
    const all = this.#clients.get(clientId)?.errors?.toArray() ?? [];
    return transport ? all.filter((e) => e.transport === transport) : all;
  }

  /** True when the tracker has ever seen the client (it may have no live session). */
  knows(clientId: string): boolean {
    return this.#clients.has(clientId);
  }

  /** Counters of one client. */
  counters(clientId: string): { rate_limited: number; throttled: number; errors: number } {
    const c = this.#clients.get(clientId);
    return { rate_limited: c?.rateLimited ?? 0, throttled: c?.throttled ?? 0, errors: c?.errors?.length ?? 0 };
  }

  /** Connect times of one client within the last `windowMs`. */
  recentConnects(clientId: string, windowMs: number, now = Date.now()): number {
    const c = this.#clients.get(clientId);
    return c ? c.connects.toArray().filter((t) => now - t <= windowMs).length : 0;
  }

  /** Every client id with a record. */
  clientIds(): string[] {
    return [...this.#clients.keys()];
  }

  /** Clients that were rate limited at least once, most limited first. */
  rateLimitedClients(): Array<{ client_id: string; rejected: number }> {
    const out: Array<{ client_id: string; rejected: number }> = [];
    for (const [id, c] of this.#clients) if (c.rateLimited > 0) out.push({ client_id: id, rejected: c.rateLimited });
    return out.sort((a, b) => b.rejected - a.rejected);
  }

  /** Closes within the last `windowMs`, oldest first. */
  closes(windowMs: number, now = Date.now()): CloseRecord[] {
    return this.#closes.toArray().filter((c) => now - c.at <= windowMs);
  }

  /** When the session's current connection opened (ms epoch), if seen. */
  connectedAt(sessionId: string): number | undefined {
    return this.#connectedAt.get(sessionId);
  }

  /** Inbound, outbound and error counts over the last `minutes` (1..60). */
  window(minutes: number, now = Date.now()): { inbound: number; outbound: number; errors: number } {
    const m = Math.floor(now / MINUTE);
    let inbound = 0, outbound = 0, errors = 0;
    for (let k = 0; k < Math.min(minutes, BUCKETS); k++) {
      const i = (m - k) % BUCKETS;
      if (this.#minute[i] !== m - k) continue;
      inbound += this.#inbound[i]!;
      outbound += this.#outbound[i]!;
      errors += this.#errors[i]!;
    }
    return { inbound, outbound, errors };
  }

  /** errors / inbound messages over the last `minutes` (0 when idle). */
  errorRate(minutes = 5, now = Date.now()): number {
    const w = this.window(minutes, now);
    if (w.errors === 0) return 0;
    return Math.min(1, w.errors / Math.max(w.inbound, w.errors));
  }
}

/** What a WebSocket close code means (the guide's transport error table). */
export function closeMeaning(code: number): string {
  switch (code) {
    case 1000: return "normal closure";
    case 1001: return "going away";
    case 1005: return "no status";
    case 1006: return "abnormal closure (no close frame: network or proxy timeout)";
    case 1007: return "invalid payload";
    case 1008: return "policy violation";
    case 1009: return "message too big";
    case 1011: return "server error";
    case 1013: return "try again later";
    default: return `close code ${code}`;
  }
}
