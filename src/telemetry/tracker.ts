import type { CallEvent, ClientEvent, ClientTransportKind, ConnectionEvent, ErrorEvent, MessageEvent } from "./channels.js";
import type { TelemetrySink } from "./hub.js";
import { MAX_RETAINED_STRING, truncate, truncateFields } from "../errors/truncate.js";
import { SmallRing } from "./small-ring.js";
import { sharedMethodName } from "./method-names.js";

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

/**
 * Where a stored lifecycle entry keeps its time and arrival order: symbol keys, so no event field (`...rest`
 * of a client event) can collide with them, and none shows in the trace a reader gets.
 */
const AT = Symbol("at");
const N = Symbol("n");

/**
 * A lifecycle entry as stored: the entry's own fields plus its time (ms since the tracker's epoch, formatted
 * only when read) and arrival order across both rings (timestamps tie within a millisecond), in one object.
 */
type StoredEntry = Omit<TraceEntry, "timestamp"> & { [AT]: number; [N]: number };

/** A message entry as stored (every message passes here: one fixed-shape object, no nested entry). */
class MessageEntry {
  constructor(
    readonly at: number,
    readonly n: number,
    readonly sent: boolean,
    readonly transport: ClientTransportKind,
    readonly size: number,
    readonly method: string | undefined,
  ) {}
}

/** Estimated bytes of a message entry (for the byte budget): the object plus its method (counted even when shared). */
const MESSAGE_OVERHEAD = 72;
const messageSize = (m: MessageEntry): number => MESSAGE_OVERHEAD + (m.method === undefined ? 0 : 2 * m.method.length);

/** One client's record; every ring is created on first use (an idle client has a connect, a lifecycle entry and its handshake messages). */
class ClientRecord {
  trace: SmallRing<StoredEntry> | undefined = undefined;
  messages: SmallRing<MessageEntry> | undefined = undefined;
  errors: SmallRing<ClientErrorEntry> | undefined = undefined;
  /** Connect times, ms since the tracker's epoch. */
  connects: SmallRing<number> | undefined = undefined;
  rateLimited = 0;
  throttled = 0;
  constructor(
    /** Estimated bytes of this client's entries (for the tracker's byte budget). */
    public bytes: number,
  ) {}
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
  readonly #closes: SmallRing<CloseRecord>;
  #n = 0;
  /**
   * Stored times count ms from here: small integers, kept inline by V8 for ~24 days, where a Date.now()
   * (past 2^31) is a 16-byte heap number per entry. Later they are heap numbers again, never wrong.
   */
  readonly #epoch = Date.now();
  /** Estimated bytes of every client record (see TrackerLimits.maxBytes). */
  #bytes = 0;
  /** When each session's connection opened (ms since the epoch). */
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
    this.#closes = new SmallRing(this.#limits.closeRecords);
  }

  #client(id: string): ClientRecord {
    let c = this.#clients.get(id);
    if (!c) {
      if (this.#clients.size >= this.#limits.clients) this.#evictOldest();
      c = new ClientRecord(2 * id.length + ENTRY_OVERHEAD);
      this.#clients.set(id, c);
      this.#bytes += c.bytes;
    }
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
  #keep<T extends object>(c: ClientRecord, ring: SmallRing<T>, entry: T, size: (entry: T) => number = sizeOf): void {
    const added = size(entry);
    const out = ring.push(entry);
    const delta = added - (out === undefined ? 0 : size(out));
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

  /** `now` as stored: ms since the tracker's epoch, as an int32 while it fits (a plain difference of two times is a heap number even when integral). */
  #at(now: number): number {
    const ms = now - this.#epoch;
    return ms <= 0x7fffffff && ms >= -0x80000000 ? ms | 0 : ms;
  }

  /** Keeps a lifecycle entry; callers build it with its time and order (`[AT]`, `[N]`) in the same literal (one object, no slots added later). */
  #trace(clientId: string, entry: StoredEntry): void {
    const c = this.#client(clientId);
    this.#keep(c, (c.trace ??= new SmallRing(this.#limits.traceEntries)), truncateFields(entry, this.#limits.maxString));
  }

  connection(e: ConnectionEvent): void {
    const now = Date.now();
    if (e.type === "connected") {
      this.totals.connections++;
      this.#connectedAt.set(e.sessionId, this.#at(now));
      const c = this.#client(e.clientId);
      (c.connects ??= new SmallRing(this.#limits.connectTimes)).push(this.#at(now));
      this.#trace(e.clientId, { event: "connected", transport: e.transport, session_id: e.sessionId, [AT]: this.#at(now), [N]: this.#n++ });
      return;
    }
    this.totals.disconnections++;
    const started = this.#connectedAt.get(e.sessionId);
    this.#connectedAt.delete(e.sessionId);
    this.#closes.push({ at: now, clientId: e.clientId, transport: e.transport, code: e.closeCode, reason: this.#cut(e.reason), age_ms: started === undefined ? undefined : this.#at(now) - started });
    this.#trace(e.clientId, { event: "disconnected", transport: e.transport, close_code: e.closeCode ?? null, reason: e.reason ?? null, [AT]: this.#at(now), [N]: this.#n++ });
    if (e.closeCode !== undefined && e.closeCode !== 1000 && e.closeCode !== 1001 && e.closeCode !== 1005) {
      // An abnormal close is an error (as in gateway_errors_total{type="connection"}).
      this.totals.errors++;
      this.#bucket(this.#errors, now);
      const c = this.#client(e.clientId);
      this.#keep(c, (c.errors ??= new SmallRing(this.#limits.errorEntries)), { timestamp: new Date(now).toISOString(), transport: e.transport, code: `close_${e.closeCode}`, message: this.#cut(e.reason || closeMeaning(e.closeCode)), close_code: e.closeCode });
    }
  }

  message(e: MessageEvent): void {
    const now = Date.now();
    if (e.direction === "inbound") {
      this.totals.inbound++;
      this.#bucket(this.#inbound, now);
      const c = this.#client(e.clientId);
      const method = e.method ? sharedMethodName(e.method) ?? this.#cut(e.method) : undefined;
      this.#keep(c, (c.messages ??= new SmallRing(this.#limits.messageEntries)), new MessageEntry(this.#at(now), this.#n++, false, e.transport, e.size, method), messageSize);
    } else {
      this.totals.outbound++;
      this.#bucket(this.#outbound, now);
      const c = this.#client(e.clientId);
      this.#keep(c, (c.messages ??= new SmallRing(this.#limits.messageEntries)), new MessageEntry(this.#at(now), this.#n++, true, e.transport, e.size, undefined), messageSize);
    }
  }

  call(_e: CallEvent): void {}

  error(e: ErrorEvent): void {
    const now = Date.now();
    this.totals.errors++;
    this.#bucket(this.#errors, now);
    if (e.clientId === undefined) return;
    const c = this.#client(e.clientId);
    const message = this.#cut(e.message);
    this.#keep(c, (c.errors ??= new SmallRing(this.#limits.errorEntries)), { timestamp: new Date(now).toISOString(), transport: e.transport, code: e.code, message });
    this.#trace(e.clientId, { event: "error", transport: e.transport, code: e.code, message, [AT]: this.#at(now), [N]: this.#n++ });
  }

  client(e: ClientEvent): void {
    const now = Date.now();
    const { type, clientId, sessionId, ...rest } = e;
    const c = this.#client(clientId);
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
    const entry: StoredEntry = { event: type, [AT]: this.#at(now), [N]: this.#n++ };
    if (sessionId !== undefined) entry.session_id = sessionId;
    this.#trace(clientId, Object.assign(entry, rest));
  }

  /** Sequencing gaps reported to clients within the last `windowMs` (resumes past the replay buffer). */
  gaps(windowMs: number, now = Date.now()): Array<{ at: number; clientId: string; missed: number }> {
    return this.#gaps.filter((g) => now - g.at <= windowMs);
  }

  /** A session ended without a disconnect event (DELETE, TTL expiry, admin close). */
  sessionEnded(clientId: string, sessionId: string, transport: ClientTransportKind, reason?: string): void {
    this.#connectedAt.delete(sessionId);
    const entry: StoredEntry = { event: "session_ended", transport, session_id: sessionId, [AT]: this.#at(Date.now()), [N]: this.#n++ };
    if (reason) entry.reason = reason;
    this.#trace(clientId, entry);
  }

  /** The client's timeline, oldest first: lifecycle and message entries merged by time. */
  trace(clientId: string): TraceEntry[] {
    const c = this.#clients.get(clientId);
    if (!c) return [];
    const lifecycle = (c.trace?.toArray() ?? []).map((e) => [e[N], this.#epoch + e[AT], e] as const);
    const messages = (c.messages?.toArray() ?? []).map((m) => [m.n, this.#epoch + m.at, m] as const);
    return [...lifecycle, ...messages].sort((a, b) => a[0] - b[0]).map(([, at, e]) => {
      const timestamp = new Date(at).toISOString();
      if (e instanceof MessageEntry) {
        const out: TraceEntry = { timestamp, event: e.sent ? "message_sent" : "message_received", transport: e.transport, size: e.size };
        if (e.method !== undefined) out.method = e.method;
        return out;
      }
      const { [AT]: _at, [N]: _n, ...fields } = e;
      return { timestamp, ...fields } as TraceEntry;
    });
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
    return c?.connects ? c.connects.toArray().filter((t) => now - (this.#epoch + t) <= windowMs).length : 0;
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
    const at = this.#connectedAt.get(sessionId);
    return at === undefined ? undefined : this.#epoch + at;
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
