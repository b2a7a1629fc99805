import type { GatewayConfig } from "../config/schema.js";
import type { BreakerState } from "../admin/services.js";
import type { FlapDamper } from "../routing/failover.js";
import type { ReplicaHealth, ReplicaRouter } from "../routing/replica-router.js";
import { channels, log, type FailoverEvent } from "../telemetry/channels.js";
import { pingTimeout } from "./health-checker.js";
import type { Subscriptions } from "./subscriptions.js";

/**
 * What happens to a replica's standing: call and ping outcomes feed its
 * breaker and its failover count (`routing.failover_threshold` consecutive
 * failures take it out of rotation, a success puts it back); a dropped
 * connection opens its breaker and moves its subscriptions; a reconnect
 * counts as the half-open probe. Every health round pings each connected
 * replica; one that is connected but does not answer ping is restarted.
 */
export class ReplicaMonitor {
  /** Set while onReady moves a breaker to half_open: the handshake is the probe, no ping. */
  #reconnecting = false;
  /** Called after a replica is ready again (the call path wakes calls waiting for one). */
  onReady?: (h: ReplicaHealth) => void;

  constructor(
    readonly config: () => GatewayConfig,
    readonly router: ReplicaRouter,
    readonly damper: FlapDamper,
    readonly subscriptions: Subscriptions,
  ) {}

  /** A call or ping on `h` succeeded (`probe`: it held the half-open slot). */
  success(h: ReplicaHealth, probe: boolean): void {
    h.failures = 0;
    h.replica.failures = 0;
    if (probe || h.breaker.state === "closed") h.breaker.success();
    if (h.skipped && h.replica.connection !== null) {
      h.skipped = false;
      log("info", "MCP.Routing", `replica ${h.replica.spec.id} is back in rotation`, { upstream: h.group.name });
      this.#publish({ type: "failback", upstream: h.group.name, target: h.replica.spec.id });
    }
  }

  /** A call or ping on `h` failed because of the replica (lost, timed out, unreachable). */
  failure(h: ReplicaHealth, reason: string, probe: boolean): void {
    h.failures++;
    h.replica.failures = h.failures;
    if (probe || h.breaker.state !== "open") h.breaker.failure(reason);
    if (!h.skipped && h.failures >= this.config().routing.failover_threshold) this.#failover(h, `${h.failures} consecutive failures (${reason})`);
  }

  /** Takes a replica out of rotation: its clients move to the next replica on the ring. */
  #failover(h: ReplicaHealth, why: string): void {
    h.skipped = true;
    log("warn", "MCP.Routing", `replica ${h.replica.spec.id} skipped: ${why}; its clients fail over`, { upstream: h.group.name });
    this.#publish({ type: "failover", upstream: h.group.name, target: h.replica.spec.id });
    this.damper.record(h.replica.spec.id, h.group.name);
  }

  /** Replica.onDown: the connection dropped (process exit, socket closed, session expired). */
  down(h: ReplicaHealth): void {
    h.breaker.trip("connection lost");
    h.pingFailures = 0;
    if (!h.skipped) this.#failover(h, "connection lost");
    if (h.group.ready().length === 0) {
      log("warn", "MCP.Routing", `upstream ${h.group.name} has no ready replica: its tools, prompts and resources are left out of lists until it is back`, { upstream: h.group.name });
    }
    this.subscriptions.moveFrom(h);
  }

  /**
   * Replica.onConnectFailed: a connect attempt failed (connection refused, no
   * initialize answer). It counts against the breaker like a failed call, so an
   * upstream that is down trips its breaker and calls fail fast (circuit_open)
   * instead of each waiting out pool.checkout_timeout.
   */
  connectFailed(h: ReplicaHealth, reason: string): void {
    if (h.breaker.state === "open") return;
    h.breaker.failure(`connect failed: ${reason}`);
  }

  /** Replica.onReady: (re)connected and initialized. */
  ready(h: ReplicaHealth): void {
    h.failures = 0;
    h.replica.failures = 0;
    h.pingFailures = 0;
    if (h.skipped) {
      h.skipped = false;
      this.#publish({ type: "failback", upstream: h.group.name, target: h.replica.spec.id });
    }
    // A completed initialize handshake is an answered request: it counts as the
    // half-open probe (no wait for reset_timeout; with half_open_successes > 1 pings add the rest).
    if (h.breaker.state === "open") {
      this.#reconnecting = true;
      h.breaker.halfOpen();
      this.#reconnecting = false;
      if (h.breaker.tryAcquire()) h.breaker.success();
      if ((h.breaker.state as BreakerState) === "half_open") this.ping(h);
    }
    this.subscriptions.restore(h);
    this.onReady?.(h);
  }

  /** CircuitBreaker.onTransition of a replica's breaker. */
  transition(h: ReplicaHealth, from: BreakerState, to: BreakerState): void {
    log(to === "open" ? "warn" : "info", "MCP.Routing", `breaker ${h.replica.spec.id}: ${from} -> ${to}`, { upstream: h.group.name });
    if (to === "half_open" && !this.#reconnecting) this.ping(h);
  }

  /** Pings a replica (health round or half-open probe); a failure counts like a failed call. */
  ping(h: ReplicaHealth): void {
    const connection = h.replica.connection;
    if (connection === null) {
      if (h.breaker.state === "half_open") h.breaker.failure("not connected");
      return;
    }
    if (h.pinging) return;
    const probe = h.breaker.state === "half_open" && h.breaker.tryAcquire();
    if (h.breaker.state === "half_open" && !probe) return;
    h.pinging = true;
    connection.request("ping", {}, pingTimeout(this.config().routing.health_check_interval)).then(
      () => {
        h.pinging = false;
        h.pingFailures = 0;
        this.success(h, probe);
      },
      (err: Error) => {
        h.pinging = false;
        if (connection.state === "closed" && !probe) return; // the drop itself is handled by down()
        h.pingFailures++;
        this.failure(h, `ping failed: ${err.message}`, probe);
        // Connected but deaf: restart it (a hung child never exits on its own).
        if (h.pingFailures >= this.config().routing.failover_threshold && h.replica.connection === connection) {
          log("error", "MCP.Routing", `replica ${h.replica.spec.id} does not answer ping (${h.pingFailures} times): restarting it`, { upstream: h.group.name });
          h.pingFailures = 0;
          void h.replica.restart().catch(() => {});
        }
      },
    );
  }

  /** One health round (every routing.health_check_interval). */
  tick(all: readonly ReplicaHealth[]): void {
    const { routing, pool } = this.config();
    // Idle first (a ping in flight would make every connection look busy).
    // Network upstreams only: recycling an idle stdio child would cost a cold start for nothing.
    if (pool.idle_timeout > 0) this.recycleIdle(all, pool.idle_timeout, (h) => h.group.config.transport !== "stdio");
    for (const h of all) if (h.replica.connection !== null) this.ping(h);
    for (const route of this.router.groups.values()) if (route.replicas.length > 0) this.subscriptions.reconcile(route.replicas[0]!);
    this.damper.prune();
    this.router.prune(Math.max(2 * routing.flap_window, 600_000));
  }

  /**
   * Replaces replica connections idle for `maxIdleMs` with nothing in flight:
   * a fresh one is opened first, then the idle one is closed (its sockets,
   * its upstream session, or for stdio its child), so no call ever finds the
   * replica without a connection.
   */
  recycleIdle(all: Iterable<ReplicaHealth>, maxIdleMs: number, which: (h: ReplicaHealth) => boolean = () => true): number {
    const now = Date.now();
    let closed = 0;
    for (const h of all) {
      if (!which(h) || !isIdle(h, maxIdleMs, now)) continue;
      closed++;
      if (channels.pool.hasSubscribers) channels.pool.publish({ type: "idle_closed", upstream: h.group.name, detail: h.replica.spec.id });
      h.lastUsed = now;
      void h.replica.refresh().catch(() => {});
    }
    return closed;
  }

  #publish(event: FailoverEvent): void {
    if (channels.failover.hasSubscribers) channels.failover.publish(event);
  }
}

/** Connected, nothing in flight, no client call for `maxIdleMs`. */
export function isIdle(h: ReplicaHealth, maxIdleMs: number, now = Date.now()): boolean {
  const c = h.replica.connection;
  if (c === null || c.inFlight > 0) return false;
  return now - Math.max(h.lastUsed, h.replica.lastReadyAt ?? 0) >= maxIdleMs;
}
