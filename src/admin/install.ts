import type { Gateway } from "../gateway.js";
import { TelemetryHub } from "../telemetry/hub.js";
import { ClientTracker } from "../telemetry/tracker.js";
import { GatewayMetrics } from "../telemetry/metrics.js";
import { Operations } from "./operations.js";
import { registerAdminRoutes } from "./routes.js";
import { lagOf } from "./client-diagnostics.js";
import { registerDashboard, type ConsoleService } from "../dashboard/index.js";

/** What installOperations attaches to a gateway. */
export interface OperationsHandle {
  ops: Operations;
  tracker: ClientTracker;
  metrics: GatewayMetrics;
  hub: TelemetryHub;
  /** The live console's sampler and streams (src/dashboard/). */
  console: ConsoleService;
}

const installed = new WeakMap<Gateway, OperationsHandle>();

/** The operations layer of a gateway (installed by its constructor). */
export function operationsOf(gateway: Gateway): OperationsHandle {
  const h = installed.get(gateway);
  if (!h) throw new Error("operations not installed on this gateway");
  return h;
}

/**
 * Wires the operator side of one gateway: a TelemetryHub subscribed to the
 * diagnostics channels feeding the client tracker and the Prometheus
 * metrics, the health breaker states, and the admin/stats/metrics routes.
 * Called once from the Gateway constructor; unsubscribes when the server closes.
 */
export function installOperations(gateway: Gateway): OperationsHandle {
  const existing = installed.get(gateway);
  if (existing) return existing;
  const diag = gateway.config.current.diagnostics;
  const tracker = new ClientTracker({ maxString: diag.max_string_length, maxBytes: diag.max_bytes });
  const ops = new Operations(gateway, tracker);
  const hub = new TelemetryHub({ registry: gateway.registry, hasUpstream: (name) => gateway.manager.groups.has(name), ownsCaller: (id) => gateway.context.modern?.ownsCaller(id) ?? false });
  const metrics = new GatewayMetrics({
    connectionsByTransport() {
      const out: Record<string, number> = { websocket: 0, http_sse: 0, streamable_http: 0 };
      for (const s of gateway.registry.all()) if (s.sink) out[s.transport] = (out[s.transport] ?? 0) + 1;
      return out;
    },
    sessions: () => gateway.registry.size,
    poolUsage() {
      const h = gateway.resilience?.healthCheck();
      if (!h) return undefined;
      return { total: h.totals.exhaustion_ratio, upstreams: h.upstreams.map((p) => ({ upstream: p.upstream, ratio: p.exhaustion_ratio, in_use: p.in_use, waiting: p.waiting, timeouts: p.timeouts })) };
    },
    breakers: () => gateway.resilience?.breakerStates(),
    upstreams: () =>
      [...gateway.manager.groups.values()].map((g) => ({
        upstream: g.name,
        ready: g.ready().length,
        total: g.replicas.length,
        listStale: gateway.catalog.isStale(g.name),
        listTimeouts: gateway.catalog.staleCounts().get(g.name) ?? 0,
      })),
    maxLagSeconds() {
      let max = 0;
      const now = Date.now();
      for (const s of gateway.registry.all()) max = Math.max(max, lagOf(ops, s));
      return max / 1000;
    },
    avgConnectionAgeSeconds: () => ops.connectionStats().avg_connection_age,
    cluster: () => gateway.cluster?.figures(),
  });
  hub.add(tracker);
  hub.add(metrics);
  // Sessions that end without a disconnect event (DELETE, TTL expiry) still close their trace.
  gateway.registry.onEnd((s) => {
    if (tracker.connectedAt(s.id) !== undefined) tracker.sessionEnded(s.clientId, s.id, s.transport, s.closeReason);
  });
  gateway.healthSources.transportStates ??= () => {
    const out: Record<string, string> = { streamable_http: "closed", http_sse: "closed", websocket: "closed" };
    for (const b of gateway.resilience?.breakerStates() ?? []) if (b.kind === "transport") out[b.target] = b.state;
    return out;
  };
  gateway.server?.once("close", () => hub.close());
  registerAdminRoutes(gateway, ops, metrics);
  const handle = { ops, tracker, metrics, hub, console: registerDashboard(gateway, ops, hub) };
  installed.set(gateway, handle);
  return handle;
}
