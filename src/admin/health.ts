import type { UpstreamManager } from "../upstream/manager.js";
import type { SessionRegistry } from "../session/registry.js";
import type { Catalog } from "../routing/catalog.js";

/** Everything the health endpoints report on. */
export interface HealthSources {
  manager: UpstreamManager;
  registry: SessionRegistry;
  catalog: Catalog;
  startedAt: number;
  version: string;
  /** Per client transport: is it accepting connections (breakers fill this in). */
  transportStates?: () => Record<string, string>;
  /** Extra checks (cluster, Redis) contributing to the status. */
  extraChecks?: () => Record<string, { status: "ok" | "degraded" | "down"; detail?: string }>;
  /** Cluster mode: the nodes and their figures (src/cluster/), shown by `/health/gateway`. */
  cluster?: () => object;
}

/** `GET /health`: is the process serving at all. 200 while it can serve someone. */
export function health(src: HealthSources): { status: number; body: Record<string, unknown> } {
  const ready = src.manager.anyReady();
  const extra = src.extraChecks?.() ?? {};
  const degraded = Object.values(extra).some((c) => c.status !== "ok");
  const status = !ready ? "unhealthy" : degraded ? "degraded" : "ok";
  return {
    status: ready ? 200 : 503,
    body: { status, version: src.version, uptime_s: Math.round((Date.now() - src.startedAt) / 1000), sessions: src.registry.size, checks: extra },
  };
}

/** `GET /health/gateway`: each transport and upstream replica; 503 when no upstream is reachable. */
export function gatewayHealth(src: HealthSources): { status: number; body: Record<string, unknown> } {
  const upstreams: Record<string, unknown> = {};
  for (const group of src.manager.groups.values()) {
    const replicas = group.replicas.map((r) => ({
      id: r.spec.id,
      state: r.state,
      in_flight: r.connection?.inFlight ?? 0,
      restarts: r.restarts,
      last_error: r.lastError ?? null,
      server: r.connection?.identity?.serverInfo ?? null,
      /** Era negotiated with this replica: `legacy` (initialize) or `modern` (2026-07-28, server/discover). */
      protocol: r.connection?.identity?.era ?? null,
    }));
    const ready = replicas.filter((r) => r.state === "ready").length;
    upstreams[group.name] = { status: ready === replicas.length ? "ok" : ready > 0 ? "degraded" : "down", transport: group.config.transport, replicas };
  }
  const anyReady = src.manager.anyReady();
  const transports = src.transportStates?.() ?? { streamable_http: "closed", http_sse: "closed", websocket: "closed" };
  return {
    status: anyReady ? 200 : 503,
    body: {
      status: anyReady ? (Object.values(upstreams).every((u: any) => u.status === "ok") ? "ok" : "degraded") : "unhealthy",
      transports: Object.fromEntries(Object.entries(transports).map(([k, v]) => [k, { status: v === "open" ? "unavailable" : "ok", circuit: v }])),
      upstreams,
      sessions: src.registry.size,
      collisions: src.catalog.collisions,
      checks: src.extraChecks?.() ?? {},
      ...(src.cluster ? { cluster: src.cluster() } : {}),
    },
  };
}
