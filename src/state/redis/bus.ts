import type { Bus } from "../bus.js";
import type { RedisLink } from "./connection.js";

/** Redis pub/sub: `publish` answers how many nodes received it (0 means the owner is gone). */
export class RedisBus implements Bus {
  readonly #handlers = new Map<string, (message: string) => void>();

  constructor(readonly link: RedisLink) {
    // A subscribe that failed while Redis was away (or never reached it) is made again when it is back.
    link.on("up", () => {
      if (this.#handlers.size > 0) void link.sub.subscribe(...this.#handlers.keys()).catch(() => {});
    });
    link.sub.on("message", (channel: string, message: string) => {
      const h = this.#handlers.get(channel);
      if (h) {
        try {
          h(message);
        } catch {
          // One bad message must not stop the subscriber.
        }
      }
    });
  }

  async publish(channel: string, message: string): Promise<number> {
    return this.link.cmd.publish(channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.#handlers.set(channel, handler);
    // The sub connection queues this until it is connected and resubscribes after a reconnect;
    // if it fails anyway, the "up" listener above subscribes again.
    await this.link.sub.subscribe(channel);
  }

  async receivers(channel: string): Promise<number> {
    const r = (await this.link.cmd.pubsub("NUMSUB", channel)) as [string, number];
    return Number(r[1]) || 0;
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
