import type { UpstreamConfig } from "../config/schema.js";
import { GatewayError } from "../errors/index.js";
import type { JsonRpcRequest } from "../protocol/jsonrpc.js";
import type { PendingCall, UpstreamConnection } from "./connection.js";
import { Replica, type TransportFactory } from "./replica.js";
import { createUpstreamTransport, replicaSpecs } from "./transport-factory.js";

/** Chooses a ready replica for a client; the routing layer supplies the real ring. */
export type ReplicaPicker = (group: UpstreamGroup, clientId: string) => Replica | undefined;

/**
 * Sends a client's request on the connection the picker chose, answering
 * `call.sink` in every case (the resilience layer: pool lease, breaker
 * outcome, safe retries on another replica). May throw a GatewayError.
 */
export type Sender = (connection: UpstreamConnection, request: JsonRpcRequest, call: PendingCall) => void;

/** One configured upstream and its replicas. */
export class UpstreamGroup {
  constructor(
    readonly config: UpstreamConfig,
    readonly replicas: Replica[],
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Ready replicas. */
  ready(): Replica[] {
    return this.replicas.filter((r) => r.state === "ready");
  }

  /** Any ready connection (for gateway-issued requests like list merging). */
  anyConnection(): UpstreamConnection | undefined {
    for (const r of this.replicas) if (r.connection) return r.connection;
    return undefined;
  }
}

/** FNV-1a: a fast, well-spread string hash for client affinity. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A replica that may become ready without an operator: starting, or down and respawning. */
const recovering = (r: Replica): boolean => r.state === "starting" || r.state === "down";

const modPicker: ReplicaPicker = (group, clientId) => {
  const ready = group.ready();
  if (ready.length === 0) return undefined;
  return ready[fnv1a(clientId) % ready.length];
};

/**
 * Owns every upstream group: starts them, sweeps request timeouts, and picks
 * a connection for a client's call.
 */
export class UpstreamManager {
  readonly groups = new Map<string, UpstreamGroup>();
  #sweepTimer?: NodeJS.Timeout;
  readonly #firstAttempts = new Map<string, Promise<void>>();
  picker: ReplicaPicker = modPicker;
  /** Installed by the resilience layer; without it a call goes straight to its connection. */
  sender?: Sender;

  constructor(
    upstreams: readonly UpstreamConfig[],
    readonly factory: TransportFactory = createUpstreamTransport,
  ) {
    for (const config of upstreams) {
      const replicas = replicaSpecs(config).map((spec) => new Replica(config, spec, factory));
      this.groups.set(config.name, new UpstreamGroup(config, replicas));
    }
  }

  /** Every replica of every group. */
  *replicas(): IterableIterator<Replica> {
    for (const g of this.groups.values()) yield* g.replicas;
  }

  /**
   * Starts all replicas of all groups at once (a cold start with many
   * upstreams costs the slowest one, not the sum); resolves when each has
   * made its first attempt. `firstAttempt(name)` tells one group's.
   */
  async start(): Promise<void> {
    // One timer sweeps all deadlines: cheaper than a timer per request. Armed first: handshakes have deadlines too.
    this.#sweepTimer ??= setInterval(() => {
      const now = Date.now();
      for (const r of this.replicas()) r.connection?.sweep(now);
    }, 100);
    this.#sweepTimer.unref();
    for (const g of this.groups.values()) this.#firstAttempts.set(g.name, Promise.all(g.replicas.map((r) => r.start())).then(() => undefined));
    await Promise.all(this.#firstAttempts.values());
  }

  /** Resolves once every replica of `upstream` made its first connect attempt (successful or not) after start(). */
  firstAttempt(upstream: string): Promise<void> {
    return this.#firstAttempts.get(upstream) ?? Promise.resolve();
  }

  /** The connection a client's call to `upstream` goes to, or a catalogue error. */
  connectionFor(upstream: string, clientId: string): UpstreamConnection {
    const connection = this.tryConnectionFor(upstream, clientId);
    if (!connection) throw new GatewayError("upstream_unavailable", { upstream, reason: "no replica is ready" });
    return connection;
  }

  /**
   * Like connectionFor, but undefined (instead of throwing) when no replica is
   * ready now and one is (re)starting: the caller may wait for it with
   * `whenReady`. Synchronous and allocation-free when a replica is ready.
   * Throws `upstream_unavailable` when nothing can come (not configured,
   * stopped) and whatever the picker throws (`circuit_open`).
   */
  tryConnectionFor(upstream: string, clientId: string): UpstreamConnection | undefined {
    const group = this.groups.get(upstream);
    if (!group) throw new GatewayError("upstream_unavailable", { upstream, reason: "not configured" });
    const connection = this.picker(group, clientId)?.connection;
    if (connection) return connection;
    if (!group.replicas.some(recovering)) throw new GatewayError("upstream_unavailable", { upstream, reason: "no replica is ready" });
    return undefined;
  }

  /**
   * Calls `done(true)` as soon as a replica of `upstream` is ready, or
   * `done(false)` after `maxWaitMs` (the slow path of a call that arrived
   * while its replicas were restarting). Waiters are served in arrival order.
   */
  whenReady(upstream: string, maxWaitMs: number, done: (ok: boolean) => void): void {
    const replicas = this.groups.get(upstream)?.replicas.filter((r) => r.state !== "stopped") ?? [];
    if (replicas.length === 0) return done(false);
    let pending = replicas.length;
    let settled = false;
    for (const r of replicas) {
      void r.waitReady(maxWaitMs).then((ok) => {
        pending--;
        if (settled || (!ok && pending > 0)) return;
        settled = true;
        done(ok);
      });
    }
  }

  /** Sends a client's request on `connection` (through the resilience layer's sender when installed). */
  send(connection: UpstreamConnection, request: JsonRpcRequest, call: PendingCall): void {
    const sender = this.sender;
    if (sender === undefined) connection.forward(request, call);
    else sender(connection, request, call);
  }

  /** True when at least one replica of any upstream is ready. */
  anyReady(): boolean {
    for (const r of this.replicas()) if (r.state === "ready") return true;
    return false;
  }

  async close(): Promise<void> {
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await Promise.all([...this.replicas()].map((r) => r.stop()));
  }
}
