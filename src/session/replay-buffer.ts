import { DepartedIndex } from "./departed-index.js";
import type { BufferBudget } from "./buffer-budget.js";

/** One buffered outbound message: its sequence number, stream and serialized body. */
export interface ReplayEntry {
  seq: number;
  /** Which stream it went out on (Streamable HTTP: "get" or a POST's request id). */
  stream: string;
  json: string;
  /** True on the last message of its stream (a request's answer): a resumed stream ends after it. */
  last?: boolean;
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
  /** Streams of the messages that left (for Streamable HTTP resume past the buffer). */
  #departed?: DepartedIndex;

  constructor(
    public maxEntries: number,
    public maxBytes: number,
    /** The gateway-wide budget these bytes count against (absent in unit tests). */
    readonly budget?: BufferBudget,
  ) {}

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  push(entry: ReplayEntry): void {
    this.#entries.push(entry);
    this.#add(entry.json.length);
    const budget = this.budget;
    // Over the gateway-wide budget, this buffer gives up its own oldest entries (even the new one): the resume reports a gap.
    while (this.size > this.maxEntries || (this.#bytes > this.maxBytes && this.size > 1) || (budget !== undefined && budget.over && this.size > 0)) {
      const old = this.#entries[this.#head++]!;
      this.#add(-old.json.length);
      this.evictedThrough = old.seq;
      this.#depart(old);
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Stream of the entry with this seq, if still buffered or recently departed. */
  streamOf(seq: number): string | undefined {
    return this.#find(seq)?.stream ?? this.#departed?.streamOf(seq);
  }

  /** True when the entry with this seq is still buffered and ended its stream (a request's answer). */
  endsStream(seq: number): boolean {
    return this.#find(seq)?.last === true;
  }

  /** True when the last message of `stream` (its request's answer) already left the buffer. */
  departedEnd(stream: string): boolean {
    return this.#departed?.endedOf(stream) ?? false;
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
      const old = this.#entries[this.#head++]!;
      this.#add(-old.json.length);
      this.#depart(old);
    }
  }

  /**
   * Drops the oldest entry if it is `seq` (a message the client showed it received without an ack).
   * Only the head: an older entry may belong to another stream the client has not read.
   */
  dropHead(seq: number): void {
    if (this.size > 0 && this.#entries[this.#head]!.seq === seq) {
      const old = this.#entries[this.#head++]!;
      this.#add(-old.json.length);
      this.#depart(old);
    }
    // Empty again: give the array back (an idle session keeps no slots).
    if (this.size === 0 && this.#head > 0) {
      this.#entries = [];
      this.#head = 0;
    }
  }

  /** Empties the buffer (also when its session ends: its bytes leave the budget). */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#add(-this.#bytes);
  }

  #add(n: number): void {
    this.#bytes += n;
    if (this.budget !== undefined) this.budget.replayBytes += n;
  }

  #depart(entry: ReplayEntry): void {
    // Connection-level streams (WebSocket, SSE, Phoenix) resume by seq alone: nothing to remember.
    if (entry.stream === "ws" || entry.stream === "sse" || entry.stream === "phx") return;
    (this.#departed ??= new DepartedIndex(Math.min(1024, Math.max(64, this.maxEntries)))).add(entry);
  }

  #find(seq: number): ReplayEntry | undefined {
    for (let i = this.#entries.length - 1; i >= this.#head; i--) if (this.#entries[i]!.seq === seq) return this.#entries[i];
    return undefined;
  }
}
