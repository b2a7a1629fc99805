import { randomUUID } from "node:crypto";
import { RedisLink } from "../state/redis/connection.js";
import { pinKey, type Pin, type PinStore } from "./pin-store.js";
import type { PinKind } from "./fingerprint.js";

/**
 * Pins in one Redis hash (`<prefix>:pins`, field = pin key, value = the pin
 * as JSON), shared by every node of a cluster. A change is announced on
 * `<prefix>:pins:changed` so the other nodes reload and re-review at once
 * instead of at their next refresh; a node ignores its own announcements.
 */
export class RedisPinStore implements PinStore {
  readonly kind = "redis";
  readonly #link: RedisLink;
  readonly #hash: string;
  readonly #channel: string;
  readonly #self = randomUUID();
  readonly #listeners: Array<() => void> = [];
  #subscribed?: Promise<unknown>;

  constructor(
    url: string,
    prefix: string,
    readonly loadTimeoutMs = 3000,
  ) {
    this.#link = new RedisLink(url);
    this.#hash = `${prefix}:pins`;
    this.#channel = `${prefix}:pins:changed`;
    this.#link.sub.on("message", (channel: string, from: string) => {
      if (channel === this.#channel && from !== this.#self) for (const l of this.#listeners) l();
    });
  }

  /** Resolves once the change channel is subscribed (announcements sent before are not seen). */
  ready(): Promise<unknown> {
    return (this.#subscribed ??= this.#link.sub.subscribe(this.#channel));
  }

  /**
   * Every pin. Bounded by `loadTimeoutMs`: ioredis queues commands until its
   * first connection, and a refresh must not wait forever for a Redis that
   * is down at start (the service then treats definitions as unpinned and
   * tries again at the next refresh).
   */
  async load(): Promise<Pin[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.loadTimeoutMs} ms`)), this.loadTimeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.ready(), timeout]);
      const all = await Promise.race([this.#link.cmd.hgetall(this.#hash), timeout]);
      return Object.values(all).map((v) => JSON.parse(v) as Pin);
    } finally {
      clearTimeout(timer);
    }
  }

  async put(pin: Pin): Promise<void> {
    await this.#link.cmd.hset(this.#hash, pinKey(pin.upstream, pin.kind, pin.name), JSON.stringify(pin));
    await this.#link.cmd.publish(this.#channel, this.#self);
  }

  async delete(upstream: string, kind: PinKind, name: string): Promise<void> {
    await this.#link.cmd.hdel(this.#hash, pinKey(upstream, kind, name));
    await this.#link.cmd.publish(this.#channel, this.#self);
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.#link.close();
  }
}
