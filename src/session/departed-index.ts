import type { ReplayEntry } from "./replay-buffer.js";

/**
 * Which stream the most recent messages that left a replay buffer (evicted
 * or acknowledged) belonged to, and whether one was its stream's last. A
 * Streamable HTTP client resuming from an event id that is no longer
 * buffered still gets its own stream continued (never another one), and a
 * stream whose answer already left is ended after the gap report instead of
 * hanging. Bodies are not kept: a ring of (seq, stream, last) triples,
 * allocated on the first departure.
 */
export class DepartedIndex {
  readonly #seqs: Float64Array;
  readonly #streams: string[];
  readonly #last: Uint8Array;
  #count = 0;

  constructor(readonly capacity: number) {
    this.#seqs = new Float64Array(capacity);
    this.#streams = new Array<string>(capacity);
    this.#last = new Uint8Array(capacity);
  }

  add(entry: ReplayEntry): void {
    const i = this.#count++ % this.capacity;
    this.#seqs[i] = entry.seq;
    this.#streams[i] = entry.stream;
    this.#last[i] = entry.last ? 1 : 0;
  }

  /** Stream of a departed seq, if still remembered. */
  streamOf(seq: number): string | undefined {
    const n = Math.min(this.#count, this.capacity);
    for (let k = 0; k < n; k++) if (this.#seqs[k] === seq) return this.#streams[k];
    return undefined;
  }

  /** True when the last message of `stream` has departed. */
  endedOf(stream: string): boolean {
    const n = Math.min(this.#count, this.capacity);
    for (let k = 0; k < n; k++) if (this.#last[k] === 1 && this.#streams[k] === stream) return true;
    return false;
  }
}
