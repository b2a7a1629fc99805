import type { JsonRpcRequest } from "../protocol/jsonrpc.js";
import type { ReplicaHealth, ReplicaRouter } from "../routing/replica-router.js";
import { channels, log } from "../telemetry/channels.js";

/** The URIs clients hold for an upstream (the relay's subscriber sets). */
export type SubscribedUris = (upstream: string) => Iterable<string>;

/**
 * Keeps the relay's resource subscriptions alive upstream. The relay holds
 * one upstream subscription per (upstream, URI) however many clients watch
 * it; this records on which replica it lives, and when that replica's
 * session is lost makes it again: on another replica at once, or on the same
 * one when it reconnects. A reconciliation (each health round and on every
 * reconnect) also subscribes URIs clients hold that no live replica has,
 * e.g. a subscribe that failed while the upstream was starting.
 * Unsubscribes go to the replica that holds the subscription.
 */
export class Subscriptions {
  /** upstream -> uri -> replica holding (or being sent) the subscription. */
  readonly #placed = new Map<string, Map<string, ReplicaHealth>>();

  constructor(
    readonly router: ReplicaRouter,
    /** Without it there is nothing to reconcile against: only placements are followed. */
    readonly wanted?: SubscribedUris,
  ) {}

  /** For resources/unsubscribe: the replica that holds the URI's subscription, if it can take the call. */
  ownerFor(h: ReplicaHealth, request: JsonRpcRequest): ReplicaHealth | undefined {
    const owner = this.#placed.get(h.group.name)?.get(request.params?.uri as string);
    return owner !== undefined && this.router.servable(owner) ? owner : undefined;
  }

  /** A forwarded call succeeded on `h`: track (un)subscriptions. */
  settled(h: ReplicaHealth, request: JsonRpcRequest): void {
    const method = request.method;
    if (method !== "resources/subscribe" && method !== "resources/unsubscribe") return;
    const uri = request.params?.uri;
    if (typeof uri !== "string") return;
    if (method === "resources/subscribe") this.#map(h).set(uri, h);
    else this.#placed.get(h.group.name)?.delete(uri);
  }

  /** URIs subscribed upstream, per replica id (diagnostics). */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const placed of this.#placed.values()) for (const [uri, h] of placed) (out[h.replica.spec.id] ??= []).push(uri);
    return out;
  }

  /** `h` lost its session: re-subscribe its URIs on another replica now, if one can take them. */
  moveFrom(h: ReplicaHealth): void {
    const placed = this.#placed.get(h.group.name);
    if (!placed) return;
    const other = this.#replicasOf(h).find((r) => r !== h && this.router.servable(r));
    if (!other) return; // restore() re-sends them when h is back
    for (const [uri, owner] of placed) if (owner === h) this.#subscribe(other, uri, placed);
  }

  /** `h` (re)connected with a fresh session: re-send what it held, then fill any gaps on it. */
  restore(h: ReplicaHealth): void {
    // First drop what nobody wants any more and place the orphans, then re-send h's own.
    this.reconcile(h);
    const placed = this.#map(h);
    for (const [uri, owner] of placed) if (owner === h) this.#subscribe(h, uri, placed);
  }

  /**
   * Makes upstream subscriptions match what clients hold for `h`'s upstream:
   * drops placements nobody wants, subscribes wanted URIs that no connected
   * replica holds (on `h` when it can take them, else any servable replica).
   */
  reconcile(h: ReplicaHealth): void {
    if (this.wanted === undefined) return;
    const placed = this.#map(h);
    const wanted = new Set(this.wanted(h.group.name));
    for (const uri of placed.keys()) if (!wanted.has(uri)) placed.delete(uri);
    if (wanted.size === 0) return;
    const target = this.router.servable(h) ? h : this.#replicasOf(h).find((r) => this.router.servable(r));
    if (!target) return;
    for (const uri of wanted) {
      const owner = placed.get(uri);
      if (owner === undefined || owner.replica.connection === null) this.#subscribe(target, uri, placed);
    }
  }

  #replicasOf(h: ReplicaHealth): ReplicaHealth[] {
    return this.router.groups.get(h.group.name)?.replicas ?? [];
  }

  #map(h: ReplicaHealth): Map<string, ReplicaHealth> {
    let placed = this.#placed.get(h.group.name);
    if (!placed) this.#placed.set(h.group.name, (placed = new Map()));
    return placed;
  }

  #subscribe(h: ReplicaHealth, uri: string, placed: Map<string, ReplicaHealth>): void {
    const connection = h.replica.connection;
    if (connection === null) return;
    placed.set(uri, h);
    connection.request("resources/subscribe", { uri }, 10_000).then(
      () => {
        if (channels.failover.hasSubscribers) channels.failover.publish({ type: "resubscribed", upstream: h.group.name, target: h.replica.spec.id, detail: uri });
      },
      (err: Error) => {
        // Forget the placement so the next reconciliation tries again.
        if (placed.get(uri) === h) placed.delete(uri);
        log("warn", "MCP.Routing", `re-subscribing ${uri} on ${h.replica.spec.id} failed: ${err.message}`, { upstream: h.group.name });
      },
    );
  }
}
