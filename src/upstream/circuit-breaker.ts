import type { BreakerInfo, BreakerState } from "../admin/services.js";
import { channels } from "../telemetry/channels.js";

/** Thresholds of a breaker; read on every use so a config change applies at once. */
export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  failure_threshold: number;
  /** Time open before a half-open probe is allowed (ms). */
  reset_timeout: number;
  /** Successful probes needed to close again. */
  half_open_successes: number;
}

/** What a breaker guards: an upstream replica or a client transport. */
export type BreakerKind = BreakerInfo["kind"];

/** Published on `channels.breaker` at every state change. */
export interface BreakerEvent {
  target: string;
  kind: BreakerKind;
  from: BreakerState;
  to: BreakerState;
  failures: number;
  reason?: string;
}

/**
 * A three-state circuit breaker: `closed` counts consecutive failures and
 * opens at the threshold; `open` refuses everything for `reset_timeout`, then
 * turns `half_open`, which lets one probe through at a time; enough probe
 * successes close it, one failure opens it again. The transition to
 * half_open runs on a timer (not lazily) so operators and the health checker
 * see it and can probe an idle target.
 */
export class CircuitBreaker {
  #state: BreakerState = "closed";
  #failures = 0;
  #successes = 0;
  #probes = 0;
  #openedAt: number | null = null;
  #timer?: NodeJS.Timeout;
  /** Failures seen in total (for health views). */
  totalFailures = 0;
  /** Called after every transition (the resilience layer probes on half_open). */
  onTransition?: (breaker: CircuitBreaker, from: BreakerState, to: BreakerState) => void;

  constructor(
    readonly target: string,
    readonly kind: BreakerKind,
    readonly policy: () => BreakerPolicy,
  ) {}

  get state(): BreakerState {
    return this.#state;
  }

  get failures(): number {
    return this.#failures;
  }

  /** True when a call may go through now (claims the probe slot when half open). */
  tryAcquire(): boolean {
    if (this.#state === "closed") return true;
    if (this.#state === "open") return false;
    if (this.#probes > 0) return false;
    this.#probes++;
    return true;
  }

  /** Like tryAcquire but claims nothing (routing previews). */
  allows(): boolean {
    return this.#state === "closed" || (this.#state === "half_open" && this.#probes === 0);
  }

  /** A call (or probe) succeeded. */
  success(): void {
    if (this.#state === "closed") {
      this.#failures = 0;
      return;
    }
    if (this.#state === "half_open") {
      if (this.#probes > 0) this.#probes--;
      if (++this.#successes >= this.policy().half_open_successes) this.#to("closed");
    }
  }

  /** A call (or probe) failed; `reason` travels in the event. */
  failure(reason?: string): void {
    this.totalFailures++;
    this.#failures++;
    if (this.#state === "half_open") {
      if (this.#probes > 0) this.#probes--;
      this.#to("open", reason);
    } else if (this.#state === "closed" && this.#failures >= this.policy().failure_threshold) {
      this.#to("open", reason);
    }
  }

  /** A probe slot claimed by tryAcquire ended without an outcome (cancelled): free it. */
  release(): void {
    if (this.#state === "half_open" && this.#probes > 0) this.#probes--;
  }

  /** Opens now, whatever the count (a replica whose process died). */
  trip(reason?: string): void {
    if (this.#state === "open") return;
    this.#failures = Math.max(this.#failures, 1);
    this.#to("open", reason);
  }

  /** Open -> half_open now, without waiting for reset_timeout (the target proved itself alive, e.g. reconnected). */
  halfOpen(): void {
    if (this.#state === "open") this.#to("half_open", "reconnected");
  }

  /** Back to closed with counters cleared (operator reset). */
  reset(): void {
    this.#failures = 0;
    if (this.#state !== "closed") this.#to("closed", "reset");
  }

  /** Stops the half-open timer (shutdown). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The guide's CircuitBreaker.get_states entry. */
  info(): BreakerInfo {
    return { target: this.target, kind: this.kind, state: this.#state, failures: this.#failures, opened_at: this.#openedAt === null ? null : new Date(this.#openedAt).toISOString() };
  }

  #to(to: BreakerState, reason?: string): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#successes = 0;
    this.#probes = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (to === "open") {
      this.#openedAt = Date.now();
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#state === "open") this.#to("half_open");
      }, this.policy().reset_timeout);
      this.#timer.unref();
    } else if (to === "closed") {
      this.#openedAt = null;
      this.#failures = 0;
    }
    if (channels.breaker.hasSubscribers) {
      const event: BreakerEvent = { target: this.target, kind: this.kind, from, to, failures: this.#failures };
      if (reason) event.reason = reason;
      channels.breaker.publish(event);
    }
    this.onTransition?.(this, from, to);
  }
}
