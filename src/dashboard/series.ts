/**
 * The console's history: one ring buffer per series over a shared time axis,
 * one point per sample (1 s), 900 points = 15 minutes. Memory is fixed by
 * the number of series (a Float64Array each), not by how long the gateway
 * runs; a series seen for the first time is blank (NaN) before it appeared.
 * No database: a restart starts a fresh history.
 */
export class SeriesStore {
  readonly #times: Float64Array;
  readonly #series = new Map<string, Float64Array>();
  /** Next slot to write. */
  #head = 0;
  /** Points written so far, at most capacity. */
  #count = 0;

  constructor(readonly capacity = 900) {
    this.#times = new Float64Array(capacity);
  }

  /** Series names in the order they first appeared. */
  get names(): string[] {
    return [...this.#series.keys()];
  }

  get length(): number {
    return this.#count;
  }

  /** Appends one sample: `at` (ms epoch) and the value of each series (missing ones get NaN). */
  push(at: number, values: Record<string, number>): void {
    const slot = this.#head;
    this.#times[slot] = at;
    for (const [name, v] of Object.entries(values)) {
      let ring = this.#series.get(name);
      if (!ring) this.#series.set(name, (ring = new Float64Array(this.capacity).fill(Number.NaN)));
      ring[slot] = v;
    }
    for (const [name, ring] of this.#series) if (!(name in values)) ring[slot] = Number.NaN;
    this.#head = (slot + 1) % this.capacity;
    this.#count = Math.min(this.#count + 1, this.capacity);
  }

  /** The whole history oldest first: times (s epoch, as uPlot wants) and each series (null where blank). */
  snapshot(): { t: number[]; series: Record<string, Array<number | null>> } {
    const start = (this.#head - this.#count + this.capacity) % this.capacity;
    const order = (ring: Float64Array, f: (v: number) => number | null) => {
      const out = new Array<number | null>(this.#count);
      for (let i = 0; i < this.#count; i++) out[i] = f(ring[(start + i) % this.capacity]!);
      return out;
    };
    const series: Record<string, Array<number | null>> = {};
    for (const [name, ring] of this.#series) series[name] = order(ring, (v) => (Number.isNaN(v) ? null : v));
    return { t: order(this.#times, (v) => v / 1000) as number[], series };
  }
}
