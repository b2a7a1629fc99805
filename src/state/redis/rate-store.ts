import type { Redis } from "ioredis";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { ioredisPackage, rateLimiterPackage } from "../../lazy-packages.js";
import { CountingStore, StoreUnavailableError, UNLIMITED_POINTS, type RateOverride, type RateStore } from "../rate-store.js";

/** Longest a rate-limit command may take against a live Redis before the limiter applies its fail mode (ms). */
export const COMMAND_TIMEOUT_MS = 500;
/** Longest the first requests after start-up wait for the first connection (ms); a refused connection ends it at once. */
const FIRST_CONNECT_WAIT_MS = 1000;

/**
 * Cluster-wide rate-limit state in Redis: counters via RateLimiterRedis (an
 * atomic Lua increment with expiry), overrides and rejection counts in two
 * hashes. Every key lives under `prefix`, so tests and deployments sharing
 * one Redis do not collide.
 */
export class RedisRateStore extends CountingStore implements RateStore {
  readonly kind = "redis" as const;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ownsClient: boolean;

  /** `redis`: a URL (the store owns the client) or an ioredis client (shared, not closed here). */
  constructor(redis: string | Redis, prefix = "mcp-gateway:rl") {
    super();
    this.#ownsClient = typeof redis === "string";
    // Never an offline queue, not even before the first connection: while Redis is unreachable a command fails at
    // once (the limiter applies rate_limiting.fail_mode) instead of waiting out reconnect attempts on every request;
    // a command sent to a live but stalled Redis gives up after COMMAND_TIMEOUT_MS. The error listener keeps ioredis
    // from printing "Unhandled error event" at each retry (the cluster's health check reports the outage).
    this.#redis =
      typeof redis === "string"
        ? new (ioredisPackage().Redis)(redis, { enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: COMMAND_TIMEOUT_MS, lazyConnect: false })
        : redis;
    if (this.#ownsClient) this.#redis.on("error", (err: Error) => (this.lastError = err.message));
    this.#prefix = prefix;
    // The first requests after start-up may wait for the first connection, briefly: a refused connection ends the wait at once.
    this.#firstAttempt =
      this.#redis.status === "ready"
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              this.#redis.off("ready", done);
              this.#redis.off("error", done);
              resolve();
            };
            const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
            timer.unref();
            this.#redis.once("ready", done);
            this.#redis.once("error", done);
          });
  }

  readonly #firstAttempt: Promise<void>;
  /** The last connection error, for the admin endpoints and the doctor. */
  lastError?: string;

  /** True while the connection is up (commands can be sent). */
  get available(): boolean {
    return this.#redis.status === "ready";
  }

  /** Resolves when a command can be sent; rejects at once with StoreUnavailableError while Redis is down. */
  async #ready(): Promise<void> {
    if (this.available) return;
    await this.#firstAttempt;
    if (!this.available) throw new StoreUnavailableError(`redis ${this.#redis.status}${this.lastError ? `: ${this.lastError}` : ""}`);
  }

  override async hit(key: string, windowMs: number) {
    await this.#ready();
    return super.hit(key, windowMs);
  }

  override async peek(key: string, windowMs: number) {
    await this.#ready();
    return super.peek(key, windowMs);
  }

  protected createLimiter(durationSeconds: number): RateLimiterAbstract {
    return new (rateLimiterPackage().RateLimiterRedis)({ storeClient: this.#redis, points: UNLIMITED_POINTS, duration: durationSeconds, keyPrefix: `${this.#prefix}:w${durationSeconds}` });
  }

  async reset(key: string): Promise<void> {
    await this.#ready();
    const overrides = await this.overrides();
    await this.resetCounters(key, Object.values(overrides).map((o) => o.window_ms));
  }

  async setOverride(key: string, override: RateOverride): Promise<void> {
    await this.#ready();
    await this.#redis.hset(`${this.#prefix}:overrides`, key, JSON.stringify(override));
  }

  async deleteOverride(key: string): Promise<void> {
    await this.#ready();
    await this.#redis.hdel(`${this.#prefix}:overrides`, key);
  }

  async overrides(): Promise<Record<string, RateOverride>> {
    await this.#ready();
    const raw = await this.#redis.hgetall(`${this.#prefix}:overrides`);
    const out: Record<string, RateOverride> = {};
    for (const [k, v] of Object.entries(raw)) {
      try {
        out[k] = JSON.parse(v) as RateOverride;
      } catch {
        // A hand-edited entry we cannot read is skipped, not fatal.
      }
    }
    return out;
  }

  async recordRejection(key: string): Promise<void> {
    await this.#ready();
    await this.#redis.hincrby(`${this.#prefix}:rejected`, key, 1);
  }

  async rejections(): Promise<Array<{ key: string; rejected: number }>> {
    await this.#ready();
    const raw = await this.#redis.hgetall(`${this.#prefix}:rejected`);
    return Object.entries(raw).map(([key, n]) => ({ key, rejected: Number(n) })).sort((a, b) => b.rejected - a.rejected);
  }

  /** Deletes every key under the prefix (tests). */
  async purge(): Promise<void> {
    await this.#ready();
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(cursor, "MATCH", `${this.#prefix}:*`, "COUNT", 200);
      if (keys.length) await this.#redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
