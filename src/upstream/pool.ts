import type { PoolHealth } from "../admin/services.js";
import { channels, type PoolEvent } from "../telemetry/channels.js";

/** The `pool` config section (read through a getter so runtime changes apply). */
export interface PoolPolicy {
  size: number;
  overflow: number;
  strategy: "fifo" | "lifo";
  checkout_timeout: number;
  idle_timeout: number;
}

/** Why a waiting checkout ended without a lease. */
export type CheckoutFailure = "timeout" | "cleared";

/** What the pool calls back; methods on one long-lived object, so waiting costs no closure per call. */
export interface LeaseHandler<T> {
  /** A lease was granted to a waiting token (the pool already counted it). */
  granted(token: T, pool: LeasePool<T>): void;
  /** A waiting token gave up: checkout_timeout passed, or the pool was cleared. */
  failed(token: T, pool: LeasePool<T>, why: CheckoutFailure, waitedMs: number): void;
}

interface Waiter<T> {
  token: T;
  since: number;
  timer: NodeJS.Timeout;
}

/**
 * Leases on one upstream. Upstream connections are shared and multiplexed
 * (ids are rewritten per connection), so what needs bounding is not sockets
 * but concurrent requests: a request holds a lease from checkout until its
 * answer, timeout or cancellation. `size` leases are the steady capacity,
 * `overflow` more are lent under bursts (reported apart, as the guide's
 * pool_overflow), and beyond that checkouts wait, served `fifo` or `lifo`,
 * for at most `checkout_timeout` before failing with `pool_timeout`.
 */
export class LeasePool<T> {
  #inUse = 0;
  #waiters: Array<Waiter<T>> = [];
  /** Checkouts that failed with pool_timeout since start (or the last clear). */
  timeouts = 0;
  /** Leases granted in total. */
  checkouts = 0;
  /** Peak leases in use (since the last clear). */
  peak = 0;
  /** Last time a lease was taken (ms epoch): idle detection. */
  lastCheckout = 0;

  constructor(
    readonly upstream: string,
    readonly policy: () => PoolPolicy,
    readonly handler: LeaseHandler<T>,
  ) {}

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** size + overflow. */
  get capacity(): number {
    const p = this.policy();
    return p.size + p.overflow;
  }

  /** Takes a lease if one is free now. Synchronous: the common path never waits. */
  tryAcquire(): boolean {
    if (this.#inUse >= this.capacity || this.#waiters.length > 0) return false;
    this.#take();
    return true;
  }

  /** Queues `token` for the next free lease; `handler.granted` or `handler.failed` follows. */
  enqueue(token: T, maxWaitMs = this.policy().checkout_timeout): void {
    const since = Date.now();
    const waiter: Waiter<T> = { token, since, timer: undefined as unknown as NodeJS.Timeout };
    waiter.timer = setTimeout(() => this.#expire(waiter), maxWaitMs);
    this.#waiters.push(waiter);
    if (this.#waiters.length === 1) this.#publish("exhausted");
    // A lease may be free when the queue was only non-empty for fairness.
    this.#drain();
  }

  /** Returns a lease; the next waiter (by strategy) gets it. */
  release(): void {
    if (this.#inUse > 0) this.#inUse--;
    this.#drain();
  }

  /** Fails every waiting checkout (`cleared`) and resets the counters. */
  clear(): number {
    const waiters = this.#waiters;
    this.#waiters = [];
    const now = Date.now();
    for (const w of waiters) {
      clearTimeout(w.timer);
      this.handler.failed(w.token, this, "cleared", now - w.since);
    }
    this.timeouts = 0;
    this.peak = this.#inUse;
    this.#publish("cleared", `${waiters.length} waiting checkouts failed`);
    return waiters.length;
  }

  /** Re-reads the policy (size/overflow grew: serve waiters now). */
  reconfigure(): void {
    const p = this.policy();
    if (channels.pool.hasSubscribers) channels.pool.publish({ type: "resized", upstream: this.upstream, size: p.size, overflow: p.overflow, in_use: this.#inUse, waiting: this.#waiters.length } satisfies PoolEvent);
    this.#drain();
  }

  /** The guide's ConnectionPool.health_check() for this upstream (idle connections filled in by the caller). */
  health(idleConnections = 0): PoolHealth {
    const p = this.policy();
    const capacity = p.size + p.overflow;
    return {
      upstream: this.upstream,
      size: p.size,
      overflow: p.overflow,
      in_use: this.#inUse,
      available: Math.max(0, capacity - this.#inUse),
      overflow_in_use: Math.max(0, this.#inUse - p.size),
      waiting: this.#waiters.length,
      exhaustion_ratio: capacity ? Math.min(1, this.#inUse / capacity) : 1,
      idle_connections: idleConnections,
      timeouts: this.timeouts,
    };
  }

  #take(): void {
    this.#inUse++;
    this.checkouts++;
    this.lastCheckout = Date.now();
    if (this.#inUse > this.peak) this.peak = this.#inUse;
  }

  #drain(): void {
    const lifo = this.policy().strategy === "lifo";
    while (this.#waiters.length > 0 && this.#inUse < this.capacity) {
      const w = lifo ? this.#waiters.pop()! : this.#waiters.shift()!;
      clearTimeout(w.timer);
      this.#take();
      this.handler.granted(w.token, this);
    }
  }

  #expire(waiter: Waiter<T>): void {
    const i = this.#waiters.indexOf(waiter);
    if (i === -1) return;
    this.#waiters.splice(i, 1);
    this.timeouts++;
    const waited = Date.now() - waiter.since;
    this.#publish("timeout", `waited ${waited} ms`);
    this.handler.failed(waiter.token, this, "timeout", waited);
  }

  #publish(type: PoolEvent["type"], detail?: string): void {
    if (!channels.pool.hasSubscribers) return;
    const p = this.policy();
    const event: PoolEvent = { type, upstream: this.upstream, in_use: this.#inUse, waiting: this.#waiters.length, size: p.size, overflow: p.overflow };
    if (detail) event.detail = detail;
    channels.pool.publish(event);
  }
}
