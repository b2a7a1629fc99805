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

  /** Starts all replicas; resolves when each has made its first attempt. */
  async start(): Promise<void> {
    await Promise.all([...this.replicas()].map((r) => r.start()));
    // One timer sweeps all deadlines: cheaper than a timer per request.
    this.#sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const r of this.replicas()) r.connection?.sweep(now);
    }, 100);
    this.#sweepTimer.unref();
  }

  /** The connection a client's call to `upstream` goes to, or a catalogue error. */
  connectionFor(upstream: string, clientId: string): UpstreamConnection {
    const group = this.groups.get(upstream);
    if (!group) throw new GatewayError("upstream_unavailable", { upstream, reason: "not configured" });
    const replica = this.picker(group, clientId);
    const connection = replica?.connection;
    if (!connection) throw new GatewayError("upstream_unavailable", { upstream, reason: "no replica is ready" });
    return connection;
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
