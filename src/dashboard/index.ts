import type { Gateway } from "../gateway.js";
import type { Operations } from "../admin/operations.js";
import { DASHBOARD_HTML } from "./page.js";
import { checkOpsToken } from "../admin/admin-auth.js";
import { sendError } from "../listeners/http-util.js";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Outside dev the dashboard needs the admin or ops token (ADR 0160); true when the request was refused. */
function refused(gateway: Gateway, req: IncomingMessage, res: ServerResponse): boolean {
  const denied = checkOpsToken(req, gateway.config.current);
  if (denied) sendError(res, denied, { "www-authenticate": 'Bearer realm="mcp-gateway-ops"' });
  return denied !== null;
}

/** How often the stream pushes a snapshot (ms). */
const INTERVAL_MS = 1000;

/** One snapshot: aggregate figures only (no client ids: the page is not behind the admin token). */
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
  };
}

/**
 * The live dashboard (the guide's Observer): `GET /dashboard` serves a static
 * page, `GET /dashboard/stream` an SSE stream of snapshots every second.
 * One timer per open page, stopped when the page goes away.
 */
export function registerDashboard(gateway: Gateway, ops: Operations): void {
  gateway.router.on("GET", "/dashboard", (req, res) => {
    if (refused(gateway, req, res)) return;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(DASHBOARD_HTML), "cache-control": "no-store" });
    res.end(DASHBOARD_HTML);
  });
  // Open streams' stop functions: one server `close` listener for all of them (one per request leaked a listener each).
  const open = new Set<() => void>();
  gateway.server.once("close", () => {
    for (const stop of [...open]) stop();
  });
  gateway.router.on("GET", "/dashboard/stream", (req, res) => {
    if (refused(gateway, req, res)) return;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    const push = () => res.write(`event: stats\ndata: ${JSON.stringify(dashboardSnapshot(gateway, ops))}\n\n`);
    res.write("retry: 2000\n\n");
    push();
    const timer = setInterval(push, INTERVAL_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      open.delete(stop);
    };
    open.add(stop);
    req.once("close", stop);
    res.once("close", stop);
  });
}
