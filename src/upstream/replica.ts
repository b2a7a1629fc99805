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
  /** Next reconnect without backoff (session expiry: the upstream is up, only our session is gone). */
  #immediate = false;
  #restarting?: Promise<void>;
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
  /** Consecutive connect attempts that failed (refused, handshake failed); 0 once ready. */
  connectFailures = 0;
  /** Called when a connect attempt fails: the resilience layer counts it against the replica's breaker. */
  onConnectFailed?: (replica: Replica, reason: string) => void;
  /** Wiring for server->client messages, set by the relay. */
  onServerMessage?: UpstreamConnection["onServerMessage"];

  constructor(
    readonly upstream: UpstreamConfig,
    readonly spec: ReplicaSpec,
    readonly factory: TransportFactory,
    /**
     * Restart backoff: base doubles per failed attempt up to max. The count is
     * reset only once a connection stayed up for `stableMs`, so a child that
     * dies a second after every start backs off instead of respawning forever.
     */
    readonly backoff = { baseMs: 250, maxMs: 30_000, stableMs: 5000 },
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
      // A call waiting for a respawn must not hold the process open at shutdown.
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#readyWaiters.push(done);
    });
  }

  #newConnection(): UpstreamConnection {
    const transport = this.factory(this.upstream, this.spec);
    const connection = new UpstreamConnection(this.upstream.name, this.spec.id, transport);
    connection.attributesRelated = this.upstream.transport === "streamable_http";
    const wire = this.upstream.transport === "stdio" ? "stdio" : this.upstream.transport === "streamable_http" ? "http" : "other";
    connection.handshake = { mode: this.upstream.protocol ?? "auto", wire };
    connection.onServerMessage = (m, e, c) => this.onServerMessage?.(m, e, c);
    connection.onClose = () => this.#onConnectionClosed(connection);
    connection.onTransportError = (err) => this.#onTransportError(connection, err);
    return connection;
  }

  /**
   * Make-before-break reconnect (idle recycling): a fresh connection is
   * opened and initialized while the current one keeps serving, then swapped
   * in; the old one is closed once its calls are done (bounded wait). Falls
   * back to restart() when the replica is not ready.
   */
  async refresh(drainMs = 60_000): Promise<void> {
    const old = this.#connection;
    if (this.#state !== "ready" || old === null || this.#restarting) return this.restart();
    const fresh = this.#newConnection();
    try {
      await fresh.connect();
    } catch (err) {
      log("warn", "MCP.Upstream", `upstream ${this.spec.id}: refresh failed (${(err as Error).message}); keeping the current connection`, { upstream: this.upstream.name });
      void fresh.close().catch(() => {});
      return;
    }
    if (this.#stopped || this.#connection !== old || this.#state !== "ready") {
      void fresh.close().catch(() => {});
      return;
    }
    this.#connection = fresh;
    this.lastReadyAt = Date.now();
    if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "initialized", upstream: this.upstream.name, replica: this.spec.id, detail: "refreshed" });
    this.onReady?.(this);
    // Calls that went out on the old connection just before the swap finish there.
    for (let waited = 0; old.inFlight > 0 && waited < drainMs; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await old.close().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    this.#state = "starting";
    const connection = this.#newConnection();
    this.#connection = connection;
    try {
      await connection.connect();
    } catch (err) {
      // Superseded (a restart closed it mid-handshake): the newer attempt owns the replica.
      if (connection !== this.#connection) return;
      this.lastError = (err as Error).message;
      log("warn", "MCP.Upstream", `upstream ${this.spec.id} failed to initialize: ${this.lastError}`, { upstream: this.upstream.name });
      if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "failed", upstream: this.upstream.name, replica: this.spec.id, detail: this.lastError });
      void connection.close().catch(() => {});
      this.connectFailures++;
      this.onConnectFailed?.(this, this.lastError);
      this.#scheduleReconnect();
      return;
    }
    if (connection !== this.#connection) {
      void connection.close().catch(() => {});
      return;
    }
    if (connection.state !== "ready" || this.#stopped) return;
    this.#state = "ready";
    this.failures = 0;
    this.connectFailures = 0;
    this.lastReadyAt = Date.now();
    if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "initialized", upstream: this.upstream.name, replica: this.spec.id });
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const w of waiters) w();
    this.onReady?.(this);
  }

  #onConnectionClosed(connection: UpstreamConnection): void {
    if (connection !== this.#connection) return;
    if (this.#state === "ready" && this.lastReadyAt !== undefined && Date.now() - this.lastReadyAt >= this.backoff.stableMs) this.#attempt = 0;
    const wasReady = this.#state === "ready";
    this.#state = this.#stopped ? "stopped" : "down";
    if (wasReady) this.onDown?.(this);
    if (!this.#stopped) this.#scheduleReconnect();
  }

  /**
   * The upstream forgot our session (Streamable HTTP 404 -> `session_expired`),
   * e.g. it restarted: drop this connection and re-initialize at once. Calls in
   * flight get a clear `upstream_unavailable` (the resilience layer retries the
   * safe ones); later calls see a fresh session.
   */
  #onTransportError(connection: UpstreamConnection, err: Error): void {
    if ((err as { code?: string }).code !== "session_expired" || connection !== this.#connection || this.#state !== "ready") return;
    log("warn", "MCP.Upstream", `upstream ${this.spec.id}: ${err.message}; re-initializing`, { upstream: this.upstream.name });
    this.#immediate = true;
    void connection.close().catch(() => {});
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#timer) return;
    this.#state = "down";
    const delay = this.#immediate ? 0 : Math.min(this.backoff.baseMs * 2 ** this.#attempt++, this.backoff.maxMs);
    this.#immediate = false;
    if (channels.upstream.hasSubscribers) channels.upstream.publish({ type: "restarting", upstream: this.upstream.name, replica: this.spec.id, detail: `in ${delay} ms` });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.restarts++;
      void this.#connect();
    }, delay);
    this.#timer.unref();
  }

  /** Closes the connection now and reconnects immediately (admin restart). */
  restart(): Promise<void> {
    // Re-entrant: admin clear_all and restart_pool back to back share one restart.
    this.#restarting ??= this.#restart().finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  async #restart(): Promise<void> {
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
