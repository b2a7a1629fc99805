import { EventEmitter } from "node:events";
import type { Bus } from "../bus.js";

/** In-process bus: nodes sharing one MemoryBus talk as if through Redis pub/sub (tests). */
export class MemoryBus implements Bus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: string, message: string): Promise<number> {
    const n = this.#emitter.listenerCount(channel);
    // Delivered asynchronously, like pub/sub.
    if (n > 0) queueMicrotask(() => this.#emitter.emit(channel, message));
    return n;
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.#emitter.on(channel, handler);
  }

  async receivers(channel: string): Promise<number> {
    return this.#emitter.listenerCount(channel);
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}
