/** One buffered outbound message: its sequence number, stream and serialized body. */
export interface ReplayEntry {
  seq: number;
  /** Which stream it went out on (Streamable HTTP: "get" or a POST's request id). */
  stream: string;
  json: string;
}

/**
 * Bounded per-session buffer of sent messages for resume. Bounded by count
 * and by bytes; what falls out is remembered as `evictedThrough` so a resume
 * from before it is reported as a gap instead of being silently incomplete.
 */
export class ReplayBuffer {
  #entries: ReplayEntry[] = [];
  #head = 0;
  #bytes = 0;
  /** Highest sequence number evicted (0: nothing lost yet). */
  evictedThrough = 0;

  constructor(
    public maxEntries: number,
    public maxBytes: number,
  ) {}

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  push(entry: ReplayEntry): void {
    this.#entries.push(entry);
    this.#bytes += entry.json.length;
    while (this.size > this.maxEntries || (this.#bytes > this.maxBytes && this.size > 1)) {
      const old = this.#entries[this.#head++]!;
      this.#bytes -= old.json.length;
      this.evictedThrough = old.seq;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Stream of the entry with this seq, if still buffered. */
  streamOf(seq: number): string | undefined {
    return this.#find(seq)?.stream;
  }

  /** Entries after `seq` on `stream` (all streams when undefined), in order. */
  after(seq: number, stream?: string): ReplayEntry[] {
    const out: ReplayEntry[] = [];
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.seq > seq && (stream === undefined || e.stream === stream)) out.push(e);
    }
    return out;
  }

  /** Drops entries up to and including `seq` (acknowledged by the client). */
  ackThrough(seq: number): void {
    while (this.size > 0 && this.#entries[this.#head]!.seq <= seq) {
      this.#bytes -= this.#entries[this.#head]!.json.length;
      this.#head++;
    }
  }

  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #find(seq: number): ReplayEntry | undefined {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) if (this.#entries[i]!.seq === seq) return this.#entries[i];
    return undefined;
  }
}
