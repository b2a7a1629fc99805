import type { UpstreamConfig } from "../config/schema.js";
import type { Transport } from "../protocol/transport.js";
import { UpstreamConnection } from "./connection.js";
import { channels, log } from "../telemetry/channels.js";

/** Builds the wire for one replica; injected so tests and pools can substitute it. */
export type TransportFactory = (upstream: UpstreamConfig, replica: ReplicaSpec) => Transport;

/** Where one replica lives: a child process (stdio) or a URL. */
export interface ReplicaSpec {
  /** Stable id: `<upstream>#<n>`. */
  id: string;
  index: number;
  url?: string;
  weight: number;
}

export type ReplicaState = "starting" | "ready" | "down" | "stopped";

/**
 * One replica of an upstream: owns its current connection, reconnects it with
 * exponential backoff when it drops (a stdio child that exits is respawned),
 * and reports its state for health and routing.
 */
export class Replica {
  #connection: UpstreamConnection | null = null;
  #state: ReplicaState = "starting";
  #timer?: NodeJS.Timeout;
  #attempt = 0;
  #stopped = false;
  #readyWaiters: Array<() => void> = [];
  /** Consecutive failures (routing uses it for failover). */
  failures = 0;
  restarts = 0;
  lastError?: string;
  lastReadyAt?: number;
  /** Called each time the replica (re)connects: the catalog refreshes its lists. */
  onReady?: (replica: Replica) => void;
  /** Called when the connection drops. */
  onDown?: (replica: Replica) => void;
  /** Wiring for server->client messages, set by the relay. */
  onServerMessage?: UpstreamConnection["onServerMessage"];

  constructor(
    readonly upstream: UpstreamConfig,
    readonly spec: ReplicaSpec,
    readonly factory: TransportFactory,
    readonly backoff = { baseMs: 250, maxMs: 30_000 },
  ) {}

  get state(): ReplicaState {
    return this.#state;
  }

  get connection(): UpstreamConnection | null {
    return this.#state === "ready" ? this.#connection : null;
  }

  /** Starts connecting; resolves after the first attempt (successful or not). */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
  }

  /** Resolves when ready, or after `timeoutMs` (false). */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#state === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#readyWaiters.push(done);
    });
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#state = "starting";
    const transport = this.factory(this.upstream, this.spec);
    const connection = new UpstreamConnection(this.upstream.name, this.spec.id, transport);
    connection.attributesRelated = this.upstream.transport === "streamable_http";
    connection.onServerMessage = (m, e, c) => this.onServerMessage?.(m, e, c);
    connection.onClose = () => this.#onConnectionClosed(connection);
    this.#connection = connection;
    try {
      await connection.connect();
    } catch (err) {
      this.lastError = (err as Error).message;
      log("warn", "MCP.Upstream", `upstream ${this.spec.id} failed to initialize: ${this.lastError}`, { upstream: this.upstream.name });
      if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "failed", upstream: this.upstream.name, replica: this.spec.id, detail: this.lastError });
      void connection.close().catch(() => {});
      this.#scheduleReconnect();
      return;
    }
    if (connection.state !== "ready" || this.#stopped) return;
    this.#state = "ready";
    this.#attempt = 0;
    this.failures = 0;
    this.lastReadyAt = Date.now();
    if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "initialized", upstream: this.upstream.name, replica: this.spec.id });
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) w();
    this.onReady?.(this);
  }

  #onConnectionClosed(connection: UpstreamConnection): void {
    if (connection !== this.#connection) return;
    const wasReady = this.#state === "ready";
    this.#state = this.#stopped ? "stopped" : "down";
    if (wasReady) this.onDown?.(this);
    if (!this.#stopped) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#timer) return;
    this.#state = "down";
    const delay = Math.min(this.backoff.baseMs * 2 ** this.#attempt++, this.backoff.maxMs);
    if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "restarting", upstream: this.upstream.name, replica: this.spec.id, detail: `in ${delay} ms` });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.restarts++;
      void this.#connect();
    }, delay);
    this.#timer.unref();
  }

  /** Closes the connection now and reconnects immediately (admin restart). */
  async restart(): Promise<void> {
    const old = this.#connection;
    this.#connection = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempt = 0;
    if (old) await old.close().catch(() => {});
    this.restarts++;
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = "stopped";
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const c = this.#connection;
    this.#connection = null;
    if (c) await c.close().catch(() => {});
  }
}
