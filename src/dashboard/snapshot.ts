import type { Gateway } from "../gateway.js";
import type { Operations } from "../admin/operations.js";

/** One snapshot: aggregate figures only (no client ids: the stream is read-only, ops-token level; ADR 0160). */
export function dashboardSnapshot(gateway: Gateway, ops: Operations) {
  const pools = new Map((gateway.resilience?.healthCheck().upstreams ?? []).map((p) => [p.upstream, p]));
  return {
    at: new Date().toISOString(),
    stats: ops.connectionStats(),
    breakers: gateway.resilience?.breakerStates() ?? null,
    upstreams: [...gateway.manager.groups.values()].map((g) => {
      const ready = g.ready().length;
      const p = pools.get(g.name);
      return { name: g.name, status: ready === g.replicas.length ? "ok" : ready > 0 ? "degraded" : "down", usage: p?.exhaustion_ratio ?? null, waiting: p?.waiting ?? null };
    }),
    heap_mb: Math.round(process.memoryUsage().heapUsed / 1048576),
    // Counts only: names of withheld tools stay behind the admin token (mcp-gateway tools list).
    integrity: gateway.integrity ? (({ mode, counts, drift_events }) => ({ mode, ...counts, drift_events }))(gateway.integrity.summary()) : null,
  };
}
