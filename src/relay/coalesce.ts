/**
 * Runs `fn` at most once per `intervalMs`, however often it is asked: the
 * first call runs at once, calls during the interval are merged into one run
 * at its end (so the last change is never lost). Used for fan-outs whose
 * repeats carry no new information (`notifications/roots/list_changed` to
 * every upstream replica).
 */
export class Coalescer {
  #timer: NodeJS.Timeout | null = null;
  #pending = false;

  constructor(
    readonly fn: () => void,
    readonly intervalMs: number,
  ) {}

  /** Asks for a run. */
  request(): void {
    if (this.#timer !== null) {
      this.#pending = true;
      return;
    }
    this.fn();
    this.#arm();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#pending) return;
      this.#pending = false;
      this.fn();
      this.#arm();
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Drops a pending run (shutdown). */
  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending = false;
  }
}
