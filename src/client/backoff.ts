/**
 * Retry delays for the client SDK, from the operator's guide:
 * - per-transport reconnects follow RobustEventSource (base 1000 ms, decay 1.5,
 *   cap 30 s, reset on success), with jitter so a fleet of clients that lost
 *   the same gateway does not come back in lockstep;
 * - whole-client recovery follows RecoveryManager (2^n from 1000 ms, cap 60 s,
 *   give up after 10 attempts).
 *
 * Pure arithmetic plus a small stateful counter; timers live in the caller so
 * tests drive them with `mock.timers`.
 */

/** Shape of an exponential backoff. */
export interface BackoffPolicy {
  /** First delay (ms). */
  baseMs: number;
  /** Growth factor per attempt. */
  factor: number;
  /** Cap (ms). */
  maxMs: number;
  /** Relative jitter: the delay is scaled by a random factor in [1 - jitter, 1 + jitter]. 0 disables. */
  jitter: number;
}

/** RobustEventSource: 1000 ms x 1.5^n, at most 30 s. */
export const RECONNECT_POLICY: Readonly<BackoffPolicy> = Object.freeze({ baseMs: 1000, factor: 1.5, maxMs: 30_000, jitter: 0.2 });

/** RecoveryManager: 1000 ms x 2^n, at most 60 s. */
export const RECOVERY_POLICY: Readonly<BackoffPolicy> = Object.freeze({ baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 });

/** Attempts RecoveryManager makes before it gives up. */
export const MAX_RECOVERY_ATTEMPTS = 10;

/**
 * Delay before retry number `attempt` (0-based), before jitter:
 * `min(baseMs * factor^attempt, maxMs)`.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  return Math.min(policy.baseMs * Math.pow(policy.factor, attempt), policy.maxMs);
}

/**
 * Applies jitter to a delay. `random` returns [0, 1); 0.5 means "no jitter".
 * The result never exceeds the policy's cap, so the cap is a promise users can plan with.
 */
export function withJitter(policy: BackoffPolicy, delayMs: number, random: () => number = Math.random): number {
  if (policy.jitter <= 0) return delayMs;
  const scaled = delayMs * (1 + policy.jitter * (2 * random() - 1));
  return Math.max(0, Math.min(Math.round(scaled), policy.maxMs));
}

/** A backoff counter: `next()` gives the next delay, `reset()` after a success. */
export class Backoff {
  #attempts = 0;

  constructor(
    readonly policy: BackoffPolicy,
    readonly random: () => number = Math.random,
  ) {}

  /** Retries scheduled since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay for the next retry (with jitter); counts the attempt. */
  next(): number {
    const delay = withJitter(this.policy, backoffDelay(this.policy, this.#attempts), this.random);
    this.#attempts++;
    return delay;
  }

  /** Back to the first delay (after a successful connection). */
  reset(): void {
    this.#attempts = 0;
  }
}
