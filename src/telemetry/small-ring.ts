/**
 * A bounded ring for per-client records (the client tracker): push is O(1) amortised and the oldest items
 * fall out. Its array starts at two slots and doubles up to `cap`: V8 would give a `[]` seventeen slots on
 * its first push (152 bytes), and most clients keep one to four items (ADR 0200).
 */
export class SmallRing<T> {
  #items: T[] = [];
  /** Items ever pushed: the length while below `cap`, and the next slot to overwrite (`pushed % cap`) once full. */
  #pushed = 0;
  constructor(readonly cap: number) {}

  /** Adds an item; returns the one it pushed out, if the ring was full. */
  push(item: T): T | undefined {
    if (this.cap <= 0) return item;
    const n = this.#pushed++;
    if (n < this.cap) {
      if (n === this.#items.length) this.#grow(n);
      this.#items[n] = item;
      return undefined;
    }
    const i = n % this.cap;
    const out = this.#items[i];
    this.#items[i] = item;
    return out;
  }

  /** Doubles the array (a fresh one of exactly that length: no slack beyond it). */
  #grow(n: number): void {
    const next = new Array<T>(Math.min(this.cap, Math.max(2, n * 2)));
    for (let i = 0; i < n; i++) next[i] = this.#items[i]!;
    this.#items = next;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const n = this.#pushed;
    if (n <= this.cap) return this.#items.slice(0, n);
    const start = n % this.cap;
    return [...this.#items.slice(start), ...this.#items.slice(0, start)];
  }

  get length(): number {
    return Math.min(this.#pushed, this.cap);
  }
}
