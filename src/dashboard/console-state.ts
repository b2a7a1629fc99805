import type { Gateway } from "../gateway.js";
import { gatewayHealth } from "../admin/health.js";
import { redactText } from "../config/redact.js";
import type { CallFigures } from "./call-stats.js";
import type { BreakerHistory } from "./breaker-history.js";

/**
 * The console's upstreams page as data: each upstream with its replicas
 * (state, last error, restarts, breaker, ring share), pool figures and the
 * last sample's latency; the transport breakers; recent breaker transitions.
 * Built from the health endpoint's view, the resilience service and the
 * call figures of the last tick: nothing here is computed a second way.
 */
export function upstreamsState(gateway: Gateway, latency: Map<string, CallFigures>, history: BreakerHistory) {
  const gh = gatewayHealth(gateway.healthSources).body as { upstreams: Record<string, { status: string; transport: string; replicas: Array<{ id: string; state: string; in_flight: number; restarts: number; last_error: string | null; protocol: string | null }> }> };
  const r = gateway.resilience;
  const breakers = r?.breakerStates() ?? [];
  const byTarget = new Map(breakers.map((b) => [b.target, b]));
  const pools = new Map((r?.healthCheck().upstreams ?? []).map((p) => [p.upstream, p]));
  const ring = new Map((r?.distribution() ?? []).map((d) => [d.replica, d]));
  const upstreams = Object.entries(gh.upstreams).map(([name, u]) => ({
    name,
    status: u.status,
    transport: u.transport,
    pool: pools.get(name) ?? null,
    /** Its lists could not be refreshed lately (the catalogue shown is the last good one). */
    lists_stale: gateway.catalog.isStale(name),
    latency: latency.get(name) ?? null,
    replicas: u.replicas.map((rep) => {
      const b = byTarget.get(rep.id);
      const d = ring.get(rep.id);
      // A replica's own last error (a failed start) or else what tripped its breaker (a killed child says nothing itself).
      const lastError = rep.last_error ?? (b && b.state !== "closed" ? history.lastOpenReason(rep.id) ?? null : null);
      return { ...rep, last_error: lastError ? redactText(lastError) : null, breaker: b ? { state: b.state, failures: b.failures, opened_at: b.opened_at } : null, ring: d ? { vnodes: d.vnodes, weight: d.weight, clients: d.clients } : null };
    }),
  }));
  return {
    upstreams,
    transports: breakers.filter((b) => b.kind === "transport"),
    breaker_history: history.recent(50),
  };
}
