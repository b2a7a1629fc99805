import { truncate } from "../errors/truncate.js";
import type { TelemetrySink } from "../telemetry/hub.js";

/** One breaker transition as the console shows it. */
export interface BreakerTransition {
  at: string;
  target: string;
  kind: string;
  from: string;
  to: string;
  failures: number;
  /** Why it opened (the failure that tripped it), when the breaker said. */
  reason?: string;
}

/**
 * The last transitions of every breaker (a hub sink, always on: breakers
 * change state a few times an hour at most, never per message, so keeping
 * their history costs nothing on the message path and the console can show
 * what happened before it was opened).
 */
export class BreakerHistory implements TelemetrySink {
  readonly #entries: BreakerTransition[] = [];
  constructor(readonly cap = 200) {}

  breaker(e: { target: string; kind: string; from: string; to: string; failures: number; reason?: string }): void {
    this.#entries.push({ at: new Date().toISOString(), target: e.target, kind: e.kind, from: e.from, to: e.to, failures: e.failures, ...(e.reason ? { reason: truncate(e.reason, 300) } : {}) });
    if (this.#entries.length > this.cap) this.#entries.shift();
  }

  /** Why the target's breaker last opened, if it said. */
  lastOpenReason(target: string): string | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.target === target && e.to === "open") return e.reason;
    }
    return undefined;
  }

  /** Transitions, oldest first (the last `n`). */
  recent(n = this.cap): BreakerTransition[] {
    return this.#entries.slice(-n);
  }
}
