import { EventEmitter } from "node:events";
import type { UpstreamConfig } from "../config/schema.js";
import { GatewayError } from "../errors/index.js";
import { log } from "../telemetry/channels.js";
import { UpstreamConnection } from "./connection.js";
import { fnv1a, type UpstreamGroup } from "./manager.js";
import type { TransportFactory } from "./replica.js";
import { replicaSpecs } from "./transport-factory.js";

/** The client a `session_mode: per_client` upstream session belongs to (a client session, seen narrowly). */
export interface SessionOwner {
  readonly id: string;
  readonly clientId: string;
  readonly clientCapabilities: Record<string, unknown>;
}

interface Entry {
  readonly upstream: string;
  readonly owner: SessionOwner;
  connection?: UpstreamConnection;
  connecting?: Promise<UpstreamConnection>;
  lastUsed: number;
}

/** Why a client's upstream session closed. */
export type ClientSessionCloseReason = "client_ended" | "idle" | "evicted" | "lost" | "shutdown";

/** Capabilities announced for one client: exactly what it declared it can answer, nothing more. */
function mirroredCapabilities(owner: SessionOwner): Record<string, unknown> {
  const caps: Record<string, unknown> = {};
  for (const key of ["sampling", "elicitation", "roots"]) if (owner.clientCapabilities[key] !== undefined) caps[key] = owner.clientCapabilities[key];
  return caps;
}

/**
 * Upstream sessions of `session_mode: per_client` upstreams: one per (client
 * session, upstream), opened on the client's first call, initialized with
 * that client's own capabilities, and closed when the client ends, after
 * `per_client.idle_timeout` with nothing in flight, or to make room under
 * `per_client.max_sessions`. Emits `opened` and `closed` (upstream, owner id,
 * reason). See docs/adr/0120-roots-and-upstream-session-modes.md.
 */
export class ClientUpstreamSessions extends EventEmitter {
  readonly #entries = new Map<string, Entry>();
  #sweepTimer?: NodeJS.Timeout;
  /** Server->client traffic of one client's session (the relay routes it to that client alone). */
  onServerMessage?: (message: Parameters<NonNullable<UpstreamConnection["onServerMessage"]>>[0], extra: Parameters<NonNullable<UpstreamConnection["onServerMessage"]>>[1], connection: UpstreamConnection, owner: SessionOwner) => void;

  constructor(
    readonly factory: TransportFactory,
    readonly clientInfo = { name: "mcp-gateway", version: "0.1.0" },
  ) {
    super();
  }

  /** Open sessions of an upstream (connected or connecting). */
  count(upstream: string): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.upstream === upstream) n++;
    return n;
  }

  /** The ready connections a client holds (for log levels and roots changes). */
  connectionsOf(owner: SessionOwner): UpstreamConnection[] {
    const out: UpstreamConnection[] = [];
    for (const e of this.#entries.values()) if (e.owner.id === owner.id && e.connection?.state === "ready") out.push(e.connection);
    return out;
  }

  /** The client's session with `group`, opening and initializing it on first use. */
  connectionFor(group: UpstreamGroup, owner: SessionOwner): Promise<UpstreamConnection> {
    const key = `${group.name}\u0000${owner.id}`;
    const entry = this.#entries.get(key);
    if (entry) {
      entry.lastUsed = Date.now();
      if (entry.connection?.state === "ready") return Promise.resolve(entry.connection);
      if (entry.connecting) return entry.connecting;
      this.#entries.delete(key);
    }
    this.#makeRoom(group.config);
    const created: Entry = { upstream: group.name, owner, lastUsed: Date.now() };
    this.#entries.set(key, created);
    created.connecting = this.#open(group.config, owner, created).finally(() => (created.connecting = undefined));
    created.connecting.catch(() => this.#entries.get(key) === created && this.#entries.delete(key));
    this.#startSweeping();
    return created.connecting;
  }

  async #open(config: UpstreamConfig, owner: SessionOwner, entry: Entry): Promise<UpstreamConnection> {
    const specs = replicaSpecs(config);
    const spec = specs[fnv1a(owner.clientId) % specs.length]!;
    const connection = new UpstreamConnection(config.name, `${spec.id}@${owner.id}`, this.factory(config, spec), this.clientInfo, mirroredCapabilities(owner));
    connection.attributesRelated = true; // every message on it belongs to its one client
    connection.onServerMessage = (m, e, c) => this.onServerMessage?.(m, e, c, owner);
    connection.onClose = () => {
      const key = `${config.name}\u0000${owner.id}`;
      if (this.#entries.get(key) === entry) {
        this.#entries.delete(key);
        this.emit("closed", config.name, owner.id, "lost" satisfies ClientSessionCloseReason);
      }
    };
    try {
      await connection.connect();
    } catch (err) {
      void connection.close().catch(() => {});
      throw new GatewayError("upstream_unavailable", { upstream: config.name, reason: `could not open this client's session: ${(err as Error).message}` }, { cause: err });
    }
    entry.connection = connection;
    this.emit("opened", config.name, owner.id);
    return connection;
  }

  /** At the cap, closes the least recently used idle session; refuses when every one is busy. */
  #makeRoom(config: UpstreamConfig): void {
    const max = config.per_client.max_sessions;
    if (this.count(config.name) < max) return;
    let victim: [string, Entry] | undefined;
    for (const kv of this.#entries) {
      const e = kv[1];
      if (e.upstream !== config.name || !e.connection || e.connection.inFlight > 0) continue;
      if (!victim || e.lastUsed < victim[1].lastUsed) victim = kv;
    }
    if (!victim) throw new GatewayError("upstream_unavailable", { upstream: config.name, reason: `per_client.max_sessions (${max}) reached and every session is busy` });
    this.#close(victim[0], victim[1], "evicted");
  }

  #close(key: string, entry: Entry, reason: ClientSessionCloseReason): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    entry.connection && void entry.connection.close().catch(() => {});
    void entry.connecting?.then((c) => c.close()).catch(() => {});
    log("debug", "MCP.Upstream", `closed ${entry.upstream}'s session of client session ${entry.owner.id} (${reason})`, { upstream: entry.upstream });
    this.emit("closed", entry.upstream, entry.owner.id, reason);
  }

  /** Closes every session of one client (it ended). */
  closeOwner(ownerId: string): void {
    for (const [key, e] of [...this.#entries]) if (e.owner.id === ownerId) this.#close(key, e, "client_ended");
  }

  /** Closes sessions with nothing in flight for their upstream's `per_client.idle_timeout`. */
  sweep(idleTimeoutOf: (upstream: string) => number, now = Date.now()): void {
    for (const [key, e] of [...this.#entries]) {
      if (!e.connection || e.connection.inFlight > 0) continue;
      if (now - Math.max(e.lastUsed, e.connection.lastActivity) >= idleTimeoutOf(e.upstream)) this.#close(key, e, "idle");
    }
    if (this.#entries.size === 0 && this.#sweepTimer) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  /** Idle timeouts per upstream, read at each sweep (runtime config). */
  idleTimeoutOf: (upstream: string) => number = () => 300_000;

  #startSweeping(): void {
    if (this.#sweepTimer) return;
    // Coarse on purpose: idle timeouts are minutes in production; tests use a fraction of a second.
    this.#sweepTimer = setInterval(() => this.sweep(this.idleTimeoutOf), 100);
    this.#sweepTimer.unref();
  }

  /** Closes everything (gateway shutdown). */
  async close(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    const all = [...this.#entries];
    this.#entries.clear();
    await Promise.all(all.map(async ([, e]) => {
      await e.connection?.close().catch(() => {});
      this.emit("closed", e.upstream, e.owner.id, "shutdown" satisfies ClientSessionCloseReason);
    }));
  }
}
