/**
 * Dead-connection detection for the client. Every sign of life (bytes, SSE
 * `heartbeat` events, WebSocket ping frames, any message) is a `touch()`.
 * Silent for `pingIntervalMs`: the client sends a JSON-RPC ping, which works
 * in browsers too (they hide WebSocket ping frames). Silent for
 * `heartbeatTimeoutMs`: the connection is dead and is dropped (then resumed).
 */
export interface LivenessHooks {
  /** True while a connection is open and worth watching. */
  isOpen(): boolean;
  /** Sends a ping; resolves when answered or failed. */
  ping(): Promise<unknown>;
  /** The connection is dead. */
  dead(): void;
}

/** One periodic check per client. */
export class Liveness {
  #last = Date.now();
  #timer?: ReturnType<typeof setInterval>;
  #pingOut = false;

  constructor(
    readonly heartbeatTimeoutMs: number,
    readonly pingIntervalMs: number,
    readonly hooks: LivenessHooks,
  ) {}

  /** A sign of life. */
  touch(): void {
    this.#last = Date.now();
  }

  /** Starts checking (a quarter of the shortest period, at least every 250 ms). */
  start(): void {
    const periods = [this.heartbeatTimeoutMs, this.pingIntervalMs].filter((n) => n > 0);
    if (periods.length === 0 || this.#timer) return;
    this.#timer = setInterval(() => this.#check(), Math.max(250, Math.min(...periods) / 4));
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    if (!this.hooks.isOpen()) return;
    const idle = Date.now() - this.#last;
    if (this.heartbeatTimeoutMs > 0 && idle >= this.heartbeatTimeoutMs) {
      this.#last = Date.now();
      this.hooks.dead();
      return;
    }
    if (this.pingIntervalMs > 0 && idle >= this.pingIntervalMs && !this.#pingOut) {
      this.#pingOut = true;
      void this.hooks.ping().finally(() => {
        this.#pingOut = false;
      });
    }
  }
}
