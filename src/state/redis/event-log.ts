import type { ReplayEntry } from "../../session/replay-buffer.js";
import type { EventLog } from "../event-log.js";
import type { RedisKeys, RedisLink } from "./connection.js";

/** Limits and callbacks of the Redis event log. */
export interface RedisEventLogOptions {
  /** Entries kept per session (XADD MAXLEN ~): session.replay_buffer_size. */
  maxPerSession: () => number;
  /** TTL of a session's log and directory entry (ms), refreshed on every write. */
  ttlMs: () => number;
  /** Most entries queued; past it the oldest are dropped (the local replay buffer still has them). */
  maxPending: number;
  /**
   * Lowest seq still worth keeping for a session (the local replay buffer's floor: what it evicted
   * by count or bytes, or the client acknowledged, is trimmed from Redis too). 0: no floor.
   */
  floor?(sessionId: string): number;
  /** Entries up to `seq` of a session are in Redis. */
  onWritten?(sessionId: string, seq: number): void;
  /** Writes for these sessions were lost (Redis down, queue full): resync them later. */
  onLost?(sessionIds: Iterable<string>, count: number): void;
}

interface Queued {
  id: string;
  e: ReplayEntry;
}

/** Largest batch sent in one pipeline. */
const BATCH = 512;

/**
 * Each session's replay log as a Redis Stream (`<prefix>:events:<id>`, entry
 * id `<seq>-0`, fields s=stream j=json l=last), trimmed to about
 * `session.replay_buffer_size` entries (MAXLEN ~) and to the local replay
 * buffer's floor (XTRIM MINID: its byte bound and the client's acks). `append` only queues; one flush per
 * event-loop turn writes the queue in a single pipeline (XADDs plus one
 * lastSeq/TTL update per session), so the hot path never waits on Redis.
 * While Redis is down nothing is sent and the queue is capped.
 */
export class RedisEventLog implements EventLog {
  #queue: Queued[] = [];
  #scheduled = false;
  #flushing: Promise<void> | null = null;
  #dropped = 0;
  readonly #flushNow = () => {
    this.#scheduled = false;
    void this.flush();
  };

  constructor(
    readonly link: RedisLink,
    readonly keys: RedisKeys,
    readonly options: RedisEventLogOptions,
  ) {}

  get pending(): number {
    return this.#queue.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  append(sessionId: string, entry: ReplayEntry): void {
    this.#queue.push({ id: sessionId, e: entry });
    if (this.#queue.length > this.options.maxPending) {
      const cut = this.#queue.length - this.options.maxPending;
      const lost = this.#queue.splice(0, cut);
      this.#dropped += cut;
      this.options.onLost?.(new Set(lost.map((q) => q.id)), cut);
    }
    if (!this.#scheduled && this.link.up) {
      this.#scheduled = true;
      setImmediate(this.#flushNow);
    }
  }

  /** Writes the queue (in batches); a flush already running is awaited first. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#queue.length === 0 || !this.link.up) return;
    this.#flushing = this.#drain().finally(() => (this.#flushing = null));
    await this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && this.link.up) {
      const batch = this.#queue.length <= BATCH ? this.#queue : this.#queue.slice(0, BATCH);
      this.#queue = this.#queue.length <= BATCH ? [] : this.#queue.slice(BATCH);
      const max = this.options.maxPerSession();
      const ttl = this.options.ttlMs();
      const last = new Map<string, number>();
      const p = this.link.cmd.pipeline();
      for (const { id, e } of batch) {
        const key = this.keys.events(id);
        if (e.last) p.xadd(key, "MAXLEN", "~", max, `${e.seq}-0`, "s", e.stream, "j", e.json, "l", "1");
        else p.xadd(key, "MAXLEN", "~", max, `${e.seq}-0`, "s", e.stream, "j", e.json);
        last.set(id, e.seq);
      }
      for (const [id, seq] of last) {
        // Bounded by bytes as well as count: the same window as the local buffer.
        const floor = this.options.floor?.(id) ?? 0;
        if (floor > 1) p.xtrim(this.keys.events(id), "MINID", `${floor}-0`);
        p.pexpire(this.keys.events(id), ttl);
        p.hset(this.keys.session(id), "lastSeq", String(seq));
        p.pexpire(this.keys.session(id), ttl);
      }
      try {
        await p.exec();
        for (const [id, seq] of last) this.options.onWritten?.(id, seq);
      } catch {
        // Redis went away mid-batch: those sessions are rewritten from their local buffers on reconnect.
        this.#dropped += batch.length;
        this.options.onLost?.(last.keys(), batch.length);
        return;
      }
    }
  }

  async read(sessionId: string, afterSeq = 0): Promise<ReplayEntry[]> {
    // The newest entries after afterSeq (MAXLEN ~ may keep a little more than the bound), oldest first.
    const raw = (await this.link.cmd.xrevrange(this.keys.events(sessionId), "+", `${afterSeq + 1}-0`, "COUNT", this.options.maxPerSession() + 200)) as Array<[string, string[]]>;
    const out: ReplayEntry[] = [];
    for (let r = raw.length - 1; r >= 0; r--) {
      const [id, fields] = raw[r]!;
      const seq = Number(id.slice(0, id.indexOf("-")));
      let stream = "";
      let json = "";
      let last = false;
      for (let i = 0; i + 1 < fields.length; i += 2) {
        if (fields[i] === "s") stream = fields[i + 1]!;
        else if (fields[i] === "j") json = fields[i + 1]!;
        else if (fields[i] === "l") last = fields[i + 1] === "1";
      }
      out.push(last ? { seq, stream, json, last } : { seq, stream, json });
    }
    return out;
  }

  async delete(sessionId: string): Promise<void> {
    await this.link.cmd.del(this.keys.events(sessionId));
  }

  /** Drops what is queued for one session (it ended). */
  forget(sessionId: string): void {
    if (this.#queue.some((q) => q.id === sessionId)) this.#queue = this.#queue.filter((q) => q.id !== sessionId);
  }
}
