import type { ConfigStore } from "../../config/store.js";
import type { RateLimitService } from "../../admin/services.js";
import type { RateOverride, RateStore } from "../../state/rate-store.js";
import { MemoryRateStore } from "../../state/memory/rate-store.js";
import { RedisRateStore } from "../../state/redis/rate-store.js";
import { log } from "../../telemetry/channels.js";
import { redactText } from "../../config/redact.js";
import type { RateCheck, RateStats, StoreState } from "../../admin/services.js";

/** The verdict on one counted request. */
export interface RateVerdict {
  allowed: boolean;
  count: number;
  limit: number;
  /** Seconds until the window resets (null when allowed). */
  retryAfter: number | null;
}

/** How often a Redis-backed limiter re-reads overrides other nodes may have set (ms). */
const OVERRIDE_REFRESH_MS = 5000;

/** Key prefix of a client's notification window (`notify:<client_id>`). */
export const NOTIFY_PREFIX = "notify:";

/**
 * Per-client rate limiting: fixed windows of `rate_limiting.window` ms with
 * `rate_limiting.default_limit` requests per key (`user:<client_id>`), per-key
 * overrides at runtime, stats of the most-limited keys. Implements the
 * admin layer's RateLimitService; the message middleware calls `consume`.
 */
export class RateLimiter implements RateLimitService {
  readonly #overrides = new Map<string, RateOverride>();
  readonly #timer?: NodeJS.Timeout;

  constructor(
    readonly store: RateStore,
    readonly config: ConfigStore,
  ) {
    if (store.kind === "redis") {
      void this.refreshOverrides();
      this.#timer = setInterval(() => void this.refreshOverrides(), OVERRIDE_REFRESH_MS);
      this.#timer.unref();
    }
  }

  /** The limit and window that apply to `key` (override, else the config defaults). */
  limitFor(key: string): RateOverride {
    const o = this.#overrides.get(key);
    if (o) return o;
    const c = this.config.current.rate_limiting;
    // Notifications count in their own window, so a client's chatter never costs it its requests.
    return { limit: key.startsWith(NOTIFY_PREFIX) ? c.notification_limit : c.default_limit, window_ms: c.window };
  }

  /** Counts one request for `key` and decides. Store failures let the request through (fail open) and are logged. */
  async consume(key: string): Promise<RateVerdict> {
    const { limit, window_ms } = this.limitFor(key);
    const w = await this.store.hit(key, window_ms);
    if (w.count <= limit) return { allowed: true, count: w.count, limit, retryAfter: null };
    void this.store.recordRejection(key).catch(() => {});
    return { allowed: false, count: w.count, limit, retryAfter: Math.max(1, Math.ceil(w.resetMs / 1000)) };
  }

  /** What the admin answers say about the store: its kind, whether it is reachable, and why not. */
  storeState(err?: unknown): StoreState {
    const down = err !== undefined || !this.store.available;
    const reason = err instanceof Error ? err.message : this.store.lastError;
    return { store: this.store.kind, redis_unavailable: down, ...(down ? { store_error: redactText(reason ?? "unreachable"), fail_mode: this.config.current.rate_limiting.fail_mode } : {}) };
  }

  /**
   * The guide's `check_rate(key, limit, window)`: reports without consuming.
   * With the store down the count is unknown (null) and `allowed` is what
   * `rate_limiting.fail_mode` does with the key's next request.
   */
  async check(key: string, limit?: number, windowMs?: number): Promise<RateCheck> {
    const applied = this.limitFor(key);
    const l = limit ?? applied.limit;
    const window = windowMs ?? applied.window_ms;
    let w;
    try {
      w = await this.store.peek(key, window);
    } catch (err) {
      const allowed = this.config.current.rate_limiting.fail_mode === "open";
      return { key, allowed, remaining: null, limit: l, window_ms: window, retry_after: null, count: null, ...this.storeState(err) };
    }
    const allowed = w.count < l;
    return {
      key,
      allowed,
      remaining: Math.max(0, l - w.count),
      limit: l,
      window_ms: window,
      retry_after: allowed ? null : Math.max(1, Math.ceil(w.resetMs / 1000)),
      count: w.count,
      ...this.storeState(),
    };
  }

  /**
   * The guide's `set_limit(key, limit, window)`: applies at once on this node, within 5 s on the others.
   * Returns false when the store could not be written (Redis down): the override then holds on this node only.
   */
  async setLimit(key: string, limit: number, windowMs?: number): Promise<boolean> {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError("limit must be a positive integer");
    const o: RateOverride = { limit, window_ms: windowMs ?? this.config.current.rate_limiting.window };
    this.#overrides.set(key, o);
    return this.store.setOverride(key, o).then(() => true, () => false);
  }

  /** The guide's `RateLimiter.reset(key)`: clears the key's counters and its override. False when the store was unreachable. */
  async reset(key: string): Promise<boolean> {
    this.#overrides.delete(key);
    try {
      await this.store.deleteOverride(key);
      await this.store.reset(key);
      return true;
    } catch {
      return false;
    }
  }

  /** The guide's `get_rate_limit_stats()`; with the store down, what this node knows plus `redis_unavailable: true`. */
  async stats(): Promise<RateStats> {
    const c = this.config.current.rate_limiting;
    const known = { default_limit: c.default_limit, window_ms: c.window, fail_mode: c.fail_mode };
    try {
      const rejections = await this.store.rejections();
      return {
        ...known,
        overrides: await this.store.overrides(),
        most_limited: rejections.slice(0, 10),
        total_rejected: rejections.reduce((n, r) => n + r.rejected, 0),
        ...this.storeState(),
      };
    } catch (err) {
      return { ...known, overrides: Object.fromEntries(this.#overrides), most_limited: [], total_rejected: null, ...this.storeState(err) };
    }
  }

  /** Re-reads overrides from the store (other nodes' changes). */
  async refreshOverrides(): Promise<void> {
    try {
      const all = await this.store.overrides();
      this.#overrides.clear();
      for (const [k, v] of Object.entries(all)) this.#overrides.set(k, v);
    } catch (err) {
      log("warn", "MCP.RateLimiter", `cannot read rate-limit overrides: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.store.close();
  }
}

/** The store the config asks for: Redis when `cluster.redis_url` (REDIS_URL) is set, else memory. */
export function createRateStore(redisUrl: string | undefined, prefix?: string): RateStore {
  return redisUrl ? new RedisRateStore(redisUrl, prefix) : new MemoryRateStore();
}
