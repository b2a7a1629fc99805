import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import { ioredisPackage } from "../../lazy-packages.js";

/** Key and channel names under one prefix, so deployments and test runs sharing a Redis never collide. */
export class RedisKeys {
  constructor(readonly prefix: string) {}
  /** Directory entry of a session (hash). */
  session(id: string): string {
    return `${this.prefix}:session:${id}`;
  }
  /** Event log of a session (stream). */
  events(id: string): string {
    return `${this.prefix}:events:${id}`;
  }
  /** Takeover lock of a session. */
  lock(id: string): string {
    return `${this.prefix}:lock:${id}`;
  }
  /** A node's heartbeat (string with TTL). */
  node(id: string): string {
    return `${this.prefix}:node:${id}`;
  }
  /** Pattern matching every node key. */
  get nodes(): string {
    return `${this.prefix}:node:*`;
  }
  /** A node's own channel. */
  nodeChannel(id: string): string {
    return `${this.prefix}:to:${id}`;
  }
  /** The channel every node listens to. */
  get broadcast(): string {
    return `${this.prefix}:all`;
  }
}

/**
 * The two Redis connections a node uses: `cmd` for commands and publishing,
 * `sub` for subscriptions (a subscribed connection can do nothing else).
 * Commands fail at once while Redis is unreachable (no offline queue: no
 * unbounded buffering); ioredis reconnects with capped exponential backoff.
 * Emits `up` and `down` as both connections become ready / one is lost.
 */
export class RedisLink extends EventEmitter {
  readonly cmd: Redis;
  readonly sub: Redis;
  #up = false;
  #closed = false;
  /** The last connection error (for health). */
  lastError?: string;

  constructor(readonly url: string) {
    super();
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // 100 ms, 200 ms, ... capped at 2 s, with jitter so nodes do not reconnect in lockstep.
      retryStrategy: (times: number) => Math.min(2000, 100 * 2 ** Math.min(times - 1, 5)) + Math.floor(Math.random() * 100),
    };
    const { Redis } = ioredisPackage();
    this.cmd = new Redis(url, { ...options, enableOfflineQueue: true });
    // Queue only until the first connection (start-up); afterwards an outage fails commands at once.
    this.cmd.once("ready", () => (this.cmd.options.enableOfflineQueue = false));
    this.sub = new Redis(url, { ...options, enableOfflineQueue: true, autoResubscribe: true });
    for (const c of [this.cmd, this.sub]) {
      c.on("ready", () => this.#check());
      c.on("close", () => this.#check());
      c.on("end", () => this.#check());
      // Without a listener ioredis would crash the process on a refused connection.
      c.on("error", (err: Error) => {
        this.lastError = err.message;
      });
    }
  }

  /** True while both connections are ready. */
  get up(): boolean {
    return this.#up;
  }

  #check(): void {
    const up = !this.#closed && this.cmd.status === "ready" && this.sub.status === "ready";
    if (up === this.#up) return;
    this.#up = up;
    this.emit(up ? "up" : "down");
  }

  /** Resolves when both connections are ready, or false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.#up) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off("up", onUp);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const onUp = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.once("up", onUp);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.cmd, this.sub].map((c) => c.quit().catch(() => c.disconnect())));
    this.#check();
  }
}
