import type { BreakerInfo, PoolHealth, ResilienceService } from "../admin/services.js";
import type { OscillationInfo } from "../routing/failover.js";
import type { TransportHealth } from "./transport-breakers.js";
import { CLIENT_TRANSPORTS } from "./transport-breakers.js";
import { ResilienceCore, type ResilienceDeps } from "./resilience.js";
import { isIdle } from "./replica-monitor.js";
import type { Gateway } from "../gateway.js";

/**
 * The operator API over the resilience layer (the guide's
 * ConnectionPool.health_check / clear_all, Gateway.cleanup_idle_connections
 * and restart_pool, CircuitBreaker.get_states / reset,
 * ConsistentHash.get_distribution, check_oscillation,
 * HealthCheck.check_transport_health). The admin routes and CLI call this.
 */
export class Resilience implements ResilienceService {
  readonly core: ResilienceCore;

  constructor(deps: ResilienceDeps) {
    this.core = new ResilienceCore(deps);
  }

  start(): void {
    this.core.start();
  }

  stop(): void {
    this.core.stop();
  }

  healthCheck(): { upstreams: PoolHealth[]; totals: Omit<PoolHealth, "upstream"> } {
    const idleMs = this.core.config.pool.idle_timeout;
    const upstreams = [...this.core.pools.values()].map((pool) => pool.health(this.core.replicasOf(pool.upstream).filter((h) => idleMs > 0 && isIdle(h, idleMs)).length));
    const totals: Omit<PoolHealth, "upstream"> = { size: 0, overflow: 0, in_use: 0, available: 0, overflow_in_use: 0, waiting: 0, exhaustion_ratio: 0, idle_connections: 0, timeouts: 0 };
    for (const u of upstreams) {
      totals.size += u.size;
      totals.overflow += u.overflow;
      totals.in_use += u.in_use;
      totals.available += u.available;
      totals.overflow_in_use += u.overflow_in_use;
      totals.waiting += u.waiting;
      totals.idle_connections += u.idle_connections;
      totals.timeouts += u.timeouts;
    }
    const capacity = totals.size + totals.overflow;
    totals.exhaustion_ratio = capacity ? Math.min(1, totals.in_use / capacity) : 0;
    return { upstreams, totals };
  }

  /**
   * Recycles upstream connections with nothing in flight and no client call
   * for `maxIdleSeconds`: closed, then reopened with a fresh session (a stdio
   * child is respawned, which returns its memory).
   */
  cleanupIdleConnections(maxIdleSeconds: number): { closed: number } {
    return { closed: this.core.recycleIdle(Math.max(0, maxIdleSeconds) * 1000) };
  }

  /** Fails every waiting checkout, resets the pool counters and recycles idle connections. */
  async clearAll(): Promise<{ cleared: number }> {
    let cleared = 0;
    for (const pool of this.core.pools.values()) cleared += pool.clear();
    cleared += this.core.recycleIdle(0);
    return { cleared };
  }

  /** Restarts every replica (fresh connections and sessions); calls in flight get a clear error. */
  async restartPools(): Promise<{ restarted: number }> {
    const all = this.core.replicasOf();
    for (const pool of this.core.pools.values()) pool.clear();
    await Promise.all(all.map((h) => h.replica.restart().catch(() => {})));
    for (const h of all) {
      h.breaker.reset();
      h.failures = 0;
      h.skipped = false;
    }
    return { restarted: all.length };
  }

  breakerStates(): BreakerInfo[] {
    return [...Object.values(this.core.transports.breakers).map((b) => b.info()), ...this.core.replicasOf().map((h) => h.breaker.info())];
  }

  /** target: "all", a transport (websocket, http_sse, streamable_http, phoenix), an upstream name, or a replica id. */
  resetBreaker(target: string): { reset: string[] } {
    const reset: string[] = [];
    const all = target === "all";
    for (const name of CLIENT_TRANSPORTS) {
      if (all || name === target || (target === "phoenix" && name === "websocket")) {
        this.core.transports.breakers[name].reset();
        reset.push(name);
      }
    }
    for (const h of this.core.replicasOf()) {
      if (!all && h.group.name !== target && h.replica.spec.id !== target) continue;
      h.breaker.reset();
      h.failures = 0;
      h.replica.failures = 0;
      h.skipped = false;
      this.core.damper.release(h.replica.spec.id);
      reset.push(h.replica.spec.id);
    }
    // Client pins of the upstreams concerned go too: routing starts over from the ring.
    for (const route of this.core.router.groups.values()) {
      if (all || route.group.name === target) {
        this.core.router.unpin(route.group.name);
        this.core.damper.releaseWhere((_t, upstream) => upstream === route.group.name);
      }
    }
    return { reset };
  }

  distribution(): Array<{ replica: string; upstream: string; weight: number; vnodes: number; clients: number; state: string }> {
    const out: Array<{ replica: string; upstream: string; weight: number; vnodes: number; clients: number; state: string }> = [];
    const now = Date.now();
    for (const route of this.core.router.groups.values()) {
      const shares = route.ring.distribution();
      const clients = this.core.router.clientsPer(route);
      route.replicas.forEach((h, i) => {
        out.push({ replica: h.replica.spec.id, upstream: route.group.name, weight: h.replica.spec.weight, vnodes: shares[i]?.vnodes ?? 0, clients: clients[i] ?? 0, state: stateLabel(this.core, h, now) });
      });
    }
    return out;
  }

  checkOscillation(clientId?: string): OscillationInfo[] {
    return this.core.damper.report(clientId);
  }

  transportHealth(transport: string): TransportHealth {
    return this.core.transports.health(transport);
  }

  /** Breaker state per client transport (GET /health/gateway). */
  transportStates(): Record<string, string> {
    return this.core.transports.states();
  }
}

/** One word for a replica's routing state: ready, held (flapping), skipped, open, half_open, starting, down, stopped. */
function stateLabel(core: ResilienceCore, h: ReturnType<ResilienceCore["replicasOf"]>[number], now: number): string {
  if (h.replica.state !== "ready") return h.replica.state;
  if (h.breaker.state !== "closed") return h.breaker.state;
  if (core.damper.isHeld(h.replica.spec.id, now)) return "held";
  if (h.skipped) return "skipped";
  return "ready";
}

/**
 * Installs the resilience layer on a gateway: ring picker and pooled sender
 * on the upstream manager, the transport-breaker middleware, health-check
 * pings once listening, and `gateway.resilience` for the admin API.
 * Called once from the Gateway constructor.
 */
export function installResilience(gateway: Gateway): Resilience {
  const resilience = new Resilience({
    manager: gateway.manager,
    catalog: gateway.catalog,
    registry: gateway.registry,
    config: gateway.config,
    subscribedUris: (upstream) => gateway.relay.subscribedUris(upstream),
  });
  gateway.resilience = resilience;
  gateway.use(resilience.core.transports.middleware);
  gateway.wrapRelay(resilience.core.transports.outcome);
  gateway.healthSources.transportStates = () => resilience.transportStates();
  gateway.server.once("listening", () => resilience.start());
  gateway.server.once("close", () => resilience.stop());
  return resilience;
}
