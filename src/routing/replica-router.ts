import type { Replica } from "../upstream/replica.js";
import type { UpstreamGroup } from "../upstream/manager.js";
import type { CircuitBreaker } from "../upstream/circuit-breaker.js";
import { GatewayError } from "../errors/index.js";
import { channels, type FailoverEvent } from "../telemetry/channels.js";
import { HashRing } from "./hash-ring.js";
import type { FlapDamper } from "./failover.js";

/** What routing knows about one replica besides its connection state. */
export interface ReplicaHealth {
  readonly replica: Replica;
  readonly group: UpstreamGroup;
  /** Position in the group (and on its ring). */
  readonly index: number;
  readonly breaker: CircuitBreaker;
  /** Consecutive failed calls/pings (mirrored to replica.failures). */
  failures: number;
  /** Consecutive failed pings: a ready connection that does not answer ping is hung. */
  pingFailures: number;
  /** failures reached routing.failover_threshold: clients go to the next replica on the ring. */
  skipped: boolean;
  /** Last client call routed here (idle detection). */
  lastUsed: number;
  /** A ping is running (one at a time). */
  pinging: boolean;
}

/** Where a client's calls to one upstream went last. */
interface ClientTrack {
  replica: number;
  lastSeen: number;
  /** Pinned to `replica` until then (client-level flap damping). */
  heldUntil: number;
}

/** Routing state of one upstream. */
export interface GroupRoute {
  readonly group: UpstreamGroup;
  ring: HashRing;
  readonly replicas: ReplicaHealth[];
  readonly clients: Map<string, ClientTrack>;
  readonly scratch: number[];
}

/**
 * The replica picker: a weighted consistent-hash ring per upstream maps each
 * client_id to its replica (affinity: the same client keeps the same
 * upstream session). A replica that is down, skipped after
 * `failover_threshold` failures, breaker-open or held down for flapping is
 * passed over for the next one on the ring; when none is fully healthy, any
 * replica whose breaker admits a call is used rather than failing.
 */
export class ReplicaRouter {
  readonly groups = new Map<string, GroupRoute>();

  constructor(
    readonly damper: FlapDamper,
    readonly vnodes: () => number,
  ) {}

  /** Registers an upstream's replicas (ring index = replica index). */
  add(group: UpstreamGroup, health: ReplicaHealth[]): GroupRoute {
    const route: GroupRoute = { group, ring: this.#ring(group), replicas: health, clients: new Map(), scratch: [] };
    this.groups.set(group.name, route);
    return route;
  }

  /** Rebuilds every ring (routing.vnodes changed). */
  rebuild(): void {
    for (const route of this.groups.values()) route.ring = this.#ring(route.group);
  }

  #ring(group: UpstreamGroup): HashRing {
    return new HashRing(group.replicas.map((r) => ({ id: r.spec.id, weight: r.spec.weight })), this.vnodes());
  }

  /** Fully healthy: ready, breaker admits, not skipped, not held down. */
  usable(h: ReplicaHealth, now: number): boolean {
    return this.servable(h) && !h.skipped && !this.damper.isHeld(h.replica.spec.id, now);
  }

  /** Can take a call at all: connected and the breaker admits it. */
  servable(h: ReplicaHealth): boolean {
    return h.replica.connection?.state === "ready" && h.breaker.allows();
  }

  /** UpstreamManager.picker: the replica for this client's call, or undefined (upstream_unavailable). */
  pick(group: UpstreamGroup, clientId: string): Replica | undefined {
    const route = this.groups.get(group.name);
    if (!route) return group.ready()[0];
    const h = this.choose(route, clientId, undefined);
    return h?.replica;
  }

  /**
   * Chooses a replica for `clientId`, avoiding `exclude` (the one that just
   * failed a retried call). Throws `circuit_open` when the only connected
   * replicas have open breakers.
   */
  choose(route: GroupRoute, clientId: string, exclude: ReplicaHealth | undefined): ReplicaHealth | undefined {
    const now = Date.now();
    const reps = route.replicas;
    const track = route.clients.get(clientId);
    let chosen: ReplicaHealth | undefined;
    if (track !== undefined && track.heldUntil > now) {
      const pinned = reps[track.replica]!;
      if (pinned !== exclude && this.servable(pinned)) chosen = pinned;
    }
    if (chosen === undefined) {
      const primary = reps.length === 1 ? 0 : route.ring.indexOf(clientId);
      const first = reps[primary]!;
      if (first !== exclude && this.usable(first, now)) chosen = first;
      else {
        const order = route.ring.order(clientId, route.scratch);
        for (const i of order) {
          const h = reps[i]!;
          if (h !== exclude && this.usable(h, now)) {
            chosen = h;
            break;
          }
        }
        if (chosen === undefined) {
          for (const i of order) {
            const h = reps[i]!;
            if (h !== exclude && this.servable(h)) {
              chosen = h;
              break;
            }
          }
        }
      }
    }
    if (chosen === undefined) {
      for (const h of reps) {
        if (h !== exclude && h.replica.connection?.state === "ready" && h.breaker.state !== "closed") {
          throw new GatewayError("circuit_open", { target: `${route.group.name} (every ready replica)`, upstream: route.group.name });
        }
      }
      // Nothing connected, and every replica's breaker opened with its reconnects failing: the upstream is
      // down, not respawning. Fail fast rather than make each call wait out pool.checkout_timeout.
      const live = reps.filter((h) => h.replica.state !== "stopped");
      if (live.length > 0 && live.every((h) => h.breaker.state === "open" && h.replica.connectFailures > 0)) {
        throw new GatewayError("circuit_open", { target: route.group.name, upstream: route.group.name });
      }
      return undefined;
    }
    this.#track(route, clientId, track, chosen, now);
    chosen.lastUsed = now;
    return chosen;
  }

  #track(route: GroupRoute, clientId: string, track: ClientTrack | undefined, chosen: ReplicaHealth, now: number): void {
    if (track === undefined) {
      route.clients.set(clientId, { replica: chosen.index, lastSeen: now, heldUntil: 0 });
      return;
    }
    track.lastSeen = now;
    if (track.replica === chosen.index) return;
    const from = route.replicas[track.replica]!.replica.spec.id;
    track.replica = chosen.index;
    const back = route.ring.indexOf(clientId) === chosen.index;
    if (channels.failover.hasSubscribers) {
      channels.failover.publish({ type: back ? "failback" : "failover", upstream: route.group.name, target: `${clientId}@${route.group.name}`, clientId, from, to: chosen.replica.spec.id } satisfies FailoverEvent);
    }
    const hold = this.damper.record(`${clientId}@${route.group.name}`, route.group.name, now, clientId);
    if (hold > 0) track.heldUntil = now + hold;
  }

  /** Clients last routed to each replica of `route`. */
  clientsPer(route: GroupRoute): number[] {
    const counts = route.replicas.map(() => 0);
    for (const t of route.clients.values()) counts[t.replica]!++;
    return counts;
  }

  /** Forgets clients not seen for `maxAgeMs` (bounded memory). */
  prune(maxAgeMs: number, now = Date.now()): void {
    for (const route of this.groups.values()) {
      for (const [id, t] of route.clients) if (t.lastSeen < now - maxAgeMs && t.heldUntil <= now) route.clients.delete(id);
    }
  }

  /** Ends client pins (operator reset of an upstream). */
  unpin(upstream?: string): void {
    for (const route of this.groups.values()) {
      if (upstream !== undefined && route.group.name !== upstream) continue;
      for (const t of route.clients.values()) t.heldUntil = 0;
    }
  }
}
