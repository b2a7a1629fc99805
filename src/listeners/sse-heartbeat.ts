/** Something that writes one heartbeat event when asked (an open HTTP+SSE stream). */
export interface Beating {
  beat(now: number): void;
}

/**
 * One timer for every open HTTP+SSE stream of an interval (a timer per stream
 * cost a Timeout, its closure and a `close` listener per idle session; with
 * 10,000 streams that is ~4 MB for nothing). Each tick writes a heartbeat to
 * every stream; a stream opened between ticks gets its first one sooner than
 * a full interval, never later. The timer is unref'd and stops when the last
 * stream goes, so an idle gateway and a closed one hold none.
 */
export class SseHeartbeat {
  readonly #streams = new Set<Beating>();
  #timer?: NodeJS.Timeout;

  constructor(readonly intervalMs: number) {}

  add(stream: Beating): void {
    this.#streams.add(stream);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.intervalMs);
      this.#timer.unref();
    }
  }

  delete(stream: Beating): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  get size(): number {
    return this.#streams.size;
  }

  /** True while the timer runs (some stream is open). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  #tick(): void {
    const now = Date.now();
    for (const s of this.#streams) s.beat(now);
  }
}

const byInterval = new Map<number, SseHeartbeat>();

/** The shared heartbeat of an interval (ms > 0); one per interval in the process. */
export function sseHeartbeat(intervalMs: number): SseHeartbeat {
  let h = byInterval.get(intervalMs);
  if (h === undefined) byInterval.set(intervalMs, (h = new SseHeartbeat(intervalMs)));
  return h;
}
