import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";

/** The state of one key in one window. */
export interface RateWindow {
  /** Requests counted in the current window (including rejected ones). */
  count: number;
  /** ms until the window resets. */
  resetMs: number;
}

/** A per-key limit set at runtime. */
export interface RateOverride {
  limit: number;
  window_ms: number;
}

/**
 * Shared rate-limit state: fixed-window counters per key, runtime limit
 * overrides and rejection counts. The in-memory store serves one node; the
 * Redis store makes every node of a cluster count against the same windows.
 * Both pass the same test suite (test/state/rate-store.test.ts).
 */
export interface RateStore {
  readonly kind: "memory" | "redis";
  /** False while the store cannot be reached (always true in memory). */
  readonly available: boolean;
  /** The last connection error, if any. */
  readonly lastError?: string;
  /** Counts one request for `key` and returns the window after counting it. */
  hit(key: string, windowMs: number): Promise<RateWindow>;
  /** The window of `key` without counting anything. */
  peek(key: string, windowMs: number): Promise<RateWindow>;
  /** Clears the counters of `key` (every window length in use). */
  reset(key: string): Promise<void>;
  setOverride(key: string, override: RateOverride): Promise<void>;
  deleteOverride(key: string): Promise<void>;
  overrides(): Promise<Record<string, RateOverride>>;
  recordRejection(key: string): Promise<void>;
  /** Rejection counts per key, highest first. */
  rejections(): Promise<Array<{ key: string; rejected: number }>>;
  close(): Promise<void>;
}

/** The store cannot be reached (Redis down): the limiter applies `rate_limiting.fail_mode`, admin answers say `redis_unavailable`. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** Whole seconds (at least 1): rate-limiter-flexible windows are in seconds. */
export function windowSeconds(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / 1000));
}

/**
 * The counting half shared by both stores. `rate-limiter-flexible` does the
 * atomic increment-with-expiry (a Lua script on Redis); we give it an
 * effectively infinite budget and compare the count with the limit
 * ourselves, so one counter per key and window length serves every limit
 * (a runtime override changes the limit without losing the count).
 */
export abstract class CountingStore {
  readonly #limiters = new Map<number, RateLimiterAbstract>();

  protected abstract createLimiter(durationSeconds: number): RateLimiterAbstract;

  #limiter(windowMs: number): RateLimiterAbstract {
    const seconds = windowSeconds(windowMs);
    let limiter = this.#limiters.get(seconds);
    if (!limiter) this.#limiters.set(seconds, (limiter = this.createLimiter(seconds)));
    return limiter;
  }

  async hit(key: string, windowMs: number): Promise<RateWindow> {
    const res = (await this.#limiter(windowMs).consume(key, 1)) as RateLimiterRes;
    return { count: res.consumedPoints, resetMs: res.msBeforeNext };
  }

  async peek(key: string, windowMs: number): Promise<RateWindow> {
    const res = (await this.#limiter(windowMs).get(key)) as RateLimiterRes | null;
    return res ? { count: res.consumedPoints, resetMs: Math.max(0, res.msBeforeNext) } : { count: 0, resetMs: windowSeconds(windowMs) * 1000 };
  }

  /** Deletes `key` from every window length used so far (plus `extraWindowsMs`). */
  protected async resetCounters(key: string, extraWindowsMs: number[]): Promise<void> {
    for (const w of extraWindowsMs) this.#limiter(w);
    await Promise.all([...this.#limiters.values()].map((l) => l.delete(key)));
  }
}

/** Effectively unlimited points: the store counts, the service decides. */
export const UNLIMITED_POINTS = Number.MAX_SAFE_INTEGER;
