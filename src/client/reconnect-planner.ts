/**
 * Decides what the client does after a failed or dropped connection: retry
 * the same transport after its RobustEventSource backoff, switch to the next
 * transport after `failoverThreshold` consecutive failures, or, when every
 * transport has failed its threshold in a row, make one RecoveryManager
 * attempt (2^n backoff) and give up after `maxRecoveryAttempts`. Pure
 * bookkeeping: the client owns the timers (see ADR 0070).
 */
import { Backoff, type BackoffPolicy } from "./backoff.js";
import type { TransportKind } from "./wire.js";

/** What to do next. */
export type ReconnectPlan =
  | { action: "retry"; transport: TransportKind; delayMs: number; switchedFrom?: TransportKind; recoveryAttempt?: number }
  | { action: "give_up"; recoveryAttempts: number };

/** Settings of a {@link ReconnectPlanner}. */
export interface PlannerOptions {
  transports: readonly TransportKind[];
  failoverThreshold: number;
  reconnect: BackoffPolicy;
  recovery: BackoffPolicy;
  maxRecoveryAttempts: number;
  random: () => number;
}

/** Tracks failures per transport and across transports. */
export class ReconnectPlanner {
  #index = 0;
  #failures = new Map<TransportKind, number>();
  #backoffs = new Map<TransportKind, Backoff>();
  #recovery: Backoff;
  #recoveryAttempts = 0;
  /** Transports that reached their threshold since the last success. */
  #switches = 0;

  constructor(readonly options: PlannerOptions) {
    for (const t of options.transports) this.#backoffs.set(t, new Backoff(options.reconnect, options.random));
    this.#recovery = new Backoff(options.recovery, options.random);
  }

  /** The transport to use now. */
  get transport(): TransportKind {
    return this.options.transports[this.#index]!;
  }

  /** Recovery attempts made since the last success. */
  get recoveryAttempts(): number {
    return this.#recoveryAttempts;
  }

  /** A connection over `kind` opened: every counter starts over. */
  succeeded(kind: TransportKind): void {
    this.#failures.set(kind, 0);
    this.#backoffs.get(kind)?.reset();
    this.#recovery.reset();
    this.#recoveryAttempts = 0;
    this.#switches = 0;
  }

  /** A connection over `kind` failed or dropped: what now. */
  failed(kind: TransportKind): ReconnectPlan {
    const failures = (this.#failures.get(kind) ?? 0) + 1;
    this.#failures.set(kind, failures);
    if (failures < this.options.failoverThreshold) {
      return { action: "retry", transport: kind, delayMs: this.#backoffs.get(kind)!.next() };
    }
    this.#failures.set(kind, 0);
    this.#index = (this.#index + 1) % this.options.transports.length;
    const next = this.transport;
    const switchedFrom = next !== kind ? kind : undefined;
    if (++this.#switches < this.options.transports.length) {
      // Fail over at once: the next transport has not failed yet.
      return { action: "retry", transport: next, delayMs: 0, switchedFrom };
    }
    // Every transport failed in a row: RecoveryManager takes over.
    this.#switches = 0;
    if (++this.#recoveryAttempts > this.options.maxRecoveryAttempts) return { action: "give_up", recoveryAttempts: this.options.maxRecoveryAttempts };
    return { action: "retry", transport: next, delayMs: this.#recovery.next(), switchedFrom, recoveryAttempt: this.#recoveryAttempts };
  }
}
