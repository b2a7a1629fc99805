import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimiterPackage } from "../../lazy-packages.js";
import { CountingStore, UNLIMITED_POINTS, type RateOverride, type RateStore } from "../rate-store.js";

/** Single-node rate-limit state (RateLimiterMemory counters, maps for the rest). */
export class MemoryRateStore extends CountingStore implements RateStore {
  readonly kind = "memory" as const;
  readonly available = true;
  readonly #overrides = new Map<string, RateOverride>();
  readonly #rejections = new Map<string, number>();

  protected createLimiter(durationSeconds: number): RateLimiterAbstract {
    return new (rateLimiterPackage().RateLimiterMemory)({ points: UNLIMITED_POINTS, duration: durationSeconds, keyPrefix: `w${durationSeconds}` });
  }

  async reset(key: string): Promise<void> {
    await this.resetCounters(key, []);
  }

  async setOverride(key: string, override: RateOverride): Promise<void> {
    this.#overrides.set(key, { ...override });
  }

  async deleteOverride(key: string): Promise<void> {
    this.#overrides.delete(key);
  }

  async overrides(): Promise<Record<string, RateOverride>> {
    return Object.fromEntries(this.#overrides);
  }

  async recordRejection(key: string): Promise<void> {
    this.#rejections.set(key, (this.#rejections.get(key) ?? 0) + 1);
    // Bounded: a flood of distinct client ids must not grow the stats forever.
    if (this.#rejections.size > 10_000) this.#rejections.delete(this.#rejections.keys().next().value!);
  }

  async rejections(): Promise<Array<{ key: string; rejected: number }>> {
    return [...this.#rejections].map(([key, rejected]) => ({ key, rejected })).sort((a, b) => b.rejected - a.rejected);
  }

  async close(): Promise<void> {}
}
