/**
 * Runs `tick` every `routing.health_check_interval` ms (re-read after each
 * tick, so a runtime change applies on the next round). The resilience layer
 * pings every ready replica in the tick; a failed ping counts as a failure.
 * 0 disables the periodic round (probes on half_open still run).
 */
export class HealthChecker {
  #timer?: NodeJS.Timeout;
  #running = false;
  /** Rounds completed (tests and stats). */
  rounds = 0;

  constructor(
    readonly interval: () => number,
    readonly tick: () => Promise<void> | void,
  ) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  /** Re-arms the timer with the current interval (config change). */
  reschedule(): void {
    if (!this.#running) return;
    clearTimeout(this.#timer);
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const every = this.interval();
    if (!this.#running || every <= 0) return;
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      try {
        await this.tick();
      } finally {
        this.rounds++;
        this.#schedule();
      }
    }, every);
    this.#timer.unref();
  }
}

/**
 * Ping timeout for an interval: at most 5 s, and never under 2 s so a busy
 * machine does not turn slow answers into failures (rounds never overlap per replica).
 */
export function pingTimeout(intervalMs: number): number {
  return Math.max(2000, Math.min(intervalMs || 5000, 5000));
}
