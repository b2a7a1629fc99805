import { Redis } from "ioredis";
import { RateLimiterRedis, type RateLimiterAbstract } from "rate-limiter-flexible";
import { CountingStore, UNLIMITED_POINTS, type RateOverride, type RateStore } from "../rate-store.js";

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
    // No offline queue once connected: while Redis is down a check fails at once (the limiter fails open) instead of
    // waiting out reconnect attempts on every request; the error listener keeps ioredis from printing
    // "Unhandled error event" at each retry (the cluster's health check reports the outage).
    this.#redis = typeof redis === "string" ? new Redis(redis, { maxRetriesPerRequest: 1, connectTimeout: 2000 }) : redis;
    if (this.#ownsClient) {
      const client = this.#redis;
      client.on("error", () => {});
      // Queue only until the first connection: commands of the first moments wait for it, later outages fail fast.
      client.once("ready", () => (client.options.enableOfflineQueue = false));
    }
    this.#prefix = prefix;
    // Without the offline queue, commands sent before the first connect would fail: wait for it once (bounded).
    this.#everReady = this.#redis.status === "ready";
    this.#firstReady = this.#everReady
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          timer.unref();
          this.#redis.once("ready", () => {
            this.#everReady = true;
            clearTimeout(timer);
            resolve();
          });
        });
  }

  #everReady: boolean;
  readonly #firstReady: Promise<void>;

  override async hit(key: string, windowMs: number) {
    if (!this.#everReady) await this.#firstReady;
    return super.hit(key, windowMs);
  }

  override async peek(key: string, windowMs: number) {
    if (!this.#everReady) await this.#firstReady;
    return super.peek(key, windowMs);
  }

  protected createLimiter(durationSeconds: number): RateLimiterAbstract {
    return new RateLimiterRedis({ storeClient: this.#redis, points: UNLIMITED_POINTS, duration: durationSeconds, keyPrefix: `${this.#prefix}:w${durationSeconds}` });
  }

  async reset(key: string): Promise<void> {
    if (!this.#everReady) await this.#firstReady;
    const overrides = await this.overrides();
    await this.resetCounters(key, Object.values(overrides).map((o) => o.window_ms));
  }

  async setOverride(key: string, override: RateOverride): Promise<void> {
    if (!this.#everReady) await this.#firstReady;
    await this.#redis.hset(`${this.#prefix}:overrides`, key, JSON.stringify(override));
  }

  async deleteOverride(key: string): Promise<void> {
    if (!this.#everReady) await this.#firstReady;
    await this.#redis.hdel(`${this.#prefix}:overrides`, key);
  }

  async overrides(): Promise<Record<string, RateOverride>> {
    if (!this.#everReady) await this.#firstReady;
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
    if (!this.#everReady) await this.#firstReady;
    await this.#redis.hincrby(`${this.#prefix}:rejected`, key, 1);
  }

  async rejections(): Promise<Array<{ key: string; rejected: number }>> {
    if (!this.#everReady) await this.#firstReady;
    const raw = await this.#redis.hgetall(`${this.#prefix}:rejected`);
    return Object.entries(raw).map(([key, n]) => ({ key, rejected: Number(n) })).sort((a, b) => b.rejected - a.rejected);
  }

  /** Deletes every key under the prefix (tests). */
  async purge(): Promise<void> {
    if (!this.#everReady) await this.#firstReady;
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
