import { log, type LogEvent } from "./channels.js";

/**
 * A log line that can fire once per request while something is broken (the
 * rate-limit store during a Redis outage), logged at most once per interval:
 * the first occurrence is logged, later ones within the interval are only
 * counted, and the next line that is logged carries that count (in the text
 * and as the `suppressed` field). One number compare per suppressed call, no
 * timers: nothing to close, and a quiet condition costs nothing.
 */
export class ThrottledLog {
  /** When the last line was logged (clock of `now`); undefined until the first. */
  #lastAt: number | undefined;
  #suppressed = 0;

  /**
   * `intervalMs` is read at each call, so a runtime config change applies at
   * once; `now` is injectable for tests (no sleeping through an interval).
   */
  constructor(
    readonly level: LogEvent["level"],
    readonly component: string,
    readonly intervalMs: () => number,
    readonly now: () => number = Date.now,
  ) {}

  /** Occurrences counted but not yet reported. */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Logs `msg` unless a line was logged less than the interval ago (then counts it); true when logged. */
  log(msg: string, extra?: Record<string, unknown>): boolean {
    const t = this.now();
    if (this.#lastAt !== undefined && t - this.#lastAt < this.intervalMs()) {
      this.#suppressed++;
      return false;
    }
    const suppressed = this.#suppressed;
    this.#lastAt = t;
    this.#suppressed = 0;
    if (suppressed === 0) log(this.level, this.component, msg, extra);
    else log(this.level, this.component, `${msg} (${suppressed} more since the last such line, not logged)`, { ...extra, suppressed });
    return true;
  }
}
