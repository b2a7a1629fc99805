import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gateway } from "../gateway.js";
import { GatewayError, toGatewayError } from "../errors/index.js";
import { queryOf, readJsonObject, sendError, sendJson } from "../listeners/http-util.js";
import { checkAdminToken, checkOpsToken } from "./admin-auth.js";
import { auditAction } from "./audit.js";
import type { Operations } from "./operations.js";
import type { GatewayMetrics } from "../telemetry/metrics.js";

type Params = Record<string, string>;
type Action = (req: IncomingMessage, params: Params, body: Record<string, unknown>) => unknown;

/** Admin bodies are small JSON objects; anything larger is a mistake. */
const ADMIN_BODY_LIMIT = 64 * 1024;

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return req.method === "GET" || req.method === "HEAD" ? {} : readJsonObject(req, ADMIN_BODY_LIMIT);
}

/** A number from the body or query, with a default; a bad one is a 400 naming it. */
export function numberParam(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === null || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new GatewayError("invalid_params", { detail: `${name} must be a non-negative number, got ${JSON.stringify(raw)}` });
  return n;
}

function stringParam(name: string, raw: unknown): string {
  if (typeof raw !== "string" || raw === "") throw new GatewayError("invalid_params", { detail: `${name} is required` });
  return raw;
}

/**
 * Registers the operator HTTP surface on the gateway's router: the public
 * health/stats/metrics endpoints and every `/mcp/admin/*` action (Bearer
 * admin token). Handlers are thin: parse, call Operations, send JSON.
 */
export function registerAdminRoutes(gateway: Gateway, ops: Operations, metrics: GatewayMetrics): void {
  const r = gateway.router;
  const run = (res: ServerResponse, fn: () => unknown, done?: (status: number, code?: string) => void) =>
    Promise.resolve()
      .then(fn)
      .then((result) => {
        sendJson(res, 200, result ?? { ok: true });
        done?.(200);
      })
      .catch((err) => {
        const e = toGatewayError(err);
        sendError(res, e);
        done?.(e.status, e.code);
      });
  const open = (method: string, path: string, action: Action) =>
    r.on(method, path, (req, res, params) => run(res, async () => action(req, params, await jsonBody(req))));
  const admin = (method: string, path: string, action: Action) =>
    r.on(method, path, (req, res, params) => {
      // Every write is recorded with who made it, refused ones too (src/admin/audit.ts); reads are not.
      const audit = method === "GET" ? undefined : (status: number, code?: string) => auditAction(req, status, code);
      const denied = checkAdminToken(req, gateway.config.current);
      if (denied) {
        audit?.(denied.status, denied.code);
        return sendError(res, denied, { "www-authenticate": 'Bearer realm="mcp-gateway-admin"' });
      }
      return run(res, async () => action(req, params, await jsonBody(req)), audit);
    });
  const q = (req: IncomingMessage) => queryOf(req);

  // Public in dev (the guide's curl lines carry no token); outside dev the admin or ops token (ADR 0160).
  r.on("GET", "/mcp/health/client/:client_id", (req, res, p) => {
    const denied = checkOpsToken(req, gateway.config.current);
    if (denied) return sendError(res, denied, { "www-authenticate": 'Bearer realm="mcp-gateway-ops"' });
    // Redacted either way: no session ids, no error texts (the full view is /mcp/admin/clients/:id).
    return run(res, () => ops.publicClientInfo(p.client_id!));
  });
  // Public: the guide's curl lines carry no token for these.
  open("GET", "/mcp/stats", () => ops.connectionStats());
  r.on("GET", "/metrics", async (_req, res) => {
    const { contentType, body } = await metrics.text();
    res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });

  admin("GET", "/mcp/admin/status", () => ops.status());
  admin("GET", "/mcp/admin/stats", () => ops.connectionStats());
  admin("POST", "/mcp/admin/cleanup", (req, _p, b) => ops.cleanupIdleConnections(numberParam("max_idle_seconds", b.max_idle_seconds ?? q(req).get("max_idle_seconds"), 300)));
  admin("POST", "/mcp/admin/reset", () => ops.reset());
  admin("POST", "/mcp/admin/gc", (req, _p, b) => ops.gcOldConnections(numberParam("hours", b.hours ?? q(req).get("hours"), 24)));

  admin("GET", "/mcp/admin/clients", (req) => ops.clientList(q(req).get("q") ?? "", numberParam("limit", q(req).get("limit"), 200)));
  admin("GET", "/mcp/admin/clients/:id", (_req, p) => ops.clientInfo(p.id!));
  admin("POST", "/mcp/admin/clients/:id/disconnect", (_req, p) => ops.endClientSessions(p.id!));
  admin("GET", "/mcp/admin/clients/:id/trace", (_req, p) => ops.traceClient(p.id!));
  admin("GET", "/mcp/admin/clients/:id/errors", (req, p) => ops.clientErrors(p.id!, q(req).get("transport") ?? undefined));

  admin("GET", "/mcp/admin/connections", (req) => {
    const s = q(req);
    return ops.analyzeConnections({
      rapid_reconnect_count: numberParam("rapid_reconnect_count", s.get("rapid_reconnect_count"), 5),
      rapid_reconnect_window_s: numberParam("rapid_reconnect_window_s", s.get("rapid_reconnect_window_s"), 60),
      hoarding_sessions: numberParam("hoarding_sessions", s.get("hoarding_sessions"), 10),
    });
  });
  admin("GET", "/mcp/admin/connections/old", (req) => ops.findOldConnections(numberParam("hours", q(req).get("hours"), 24)));
  admin("GET", "/mcp/admin/analyze-1006", (req) => ops.analyze1006(numberParam("hours", q(req).get("hours") ?? q(req).get("last_hours"), 24)));

  admin("GET", "/mcp/admin/breakers", () => ({ breakers: ops.resilience.breakerStates() }));
  admin("POST", "/mcp/admin/breakers/reset", (_req, _p, b) => {
    const target = typeof b.target === "string" && b.target ? b.target : "all";
    const result = ops.resilience.resetBreaker(target);
    // A typo must not look like success: name what exists instead.
    if (target !== "all" && result.reset.length === 0) {
      const known = [...new Set([...gateway.manager.groups.keys(), ...ops.resilience.breakerStates().map((s) => s.target)])];
      throw new GatewayError("invalid_params", { detail: `no breaker named ${JSON.stringify(target)} (known: all, ${known.join(", ")})` });
    }
    return result;
  });
  admin("GET", "/mcp/admin/pool", () => ops.resilience.healthCheck());
  admin("POST", "/mcp/admin/pool/clear", () => ops.resilience.clearAll());
  admin("POST", "/mcp/admin/pool/restart", () => ops.resilience.restartPools());
  admin("GET", "/mcp/admin/hash", () => ({ distribution: ops.resilience.distribution() }));
  admin("GET", "/mcp/admin/oscillation", (req) => ({ oscillation: ops.resilience.checkOscillation(q(req).get("client") ?? undefined) }));
  admin("GET", "/mcp/admin/transports/:transport/health", (_req, p) => ops.transportHealth(p.transport!));
  admin("POST", "/mcp/admin/transports/:transport/restart", (_req, p) => ops.restartTransport(p.transport!));

  admin("GET", "/mcp/admin/rate-limit/stats", () => ops.rateLimitStats());
  admin("GET", "/mcp/admin/rate-limit/check", (req) => {
    const s = q(req);
    const limit = s.get("limit");
    const window = s.get("window");
    return ops.rateLimiter.check(stringParam("key", s.get("key")), limit ? numberParam("limit", limit, 0) : undefined, window ? numberParam("window", window, 0) : undefined);
  });
  admin("POST", "/mcp/admin/rate-limit/set", async (_req, _p, b) => {
    const key = stringParam("key", b.key);
    const limit = numberParam("limit", b.limit, NaN);
    if (!Number.isInteger(limit) || limit <= 0) throw new GatewayError("invalid_params", { detail: "limit must be a positive integer" });
    const window = b.window === undefined ? undefined : numberParam("window", b.window, 0);
    const stored = await ops.rateLimiter.setLimit(key, limit, window);
    // Redis down: the override holds on this node and is not shared; say so rather than fail.
    return { key, limit, window_ms: window ?? gateway.config.current.rate_limiting.window, ...(stored ? {} : { redis_unavailable: true, applied_on: "this node only" }) };
  });
  admin("POST", "/mcp/admin/rate-limit/reset", async (_req, _p, b) => {
    const key = stringParam("key", b.key);
    const stored = await ops.rateLimiter.reset(key);
    return stored ? { key, reset: true } : { key, reset: false, redis_unavailable: true, detail: "the override is cleared on this node; the shared counter could not be reached" };
  });

  admin("GET", "/mcp/admin/config", (req) => ops.configGet(q(req).get("path") ?? undefined));
  admin("POST", "/mcp/admin/config", (_req, _p, b) => ops.configSet(stringParam("path", b.path), b.value));
  admin("GET", "/mcp/admin/logging", () => ops.loggingSwitches());
  admin("POST", "/mcp/admin/logging", (_req, _p, b) => ops.setLogging(b));
  admin("GET", "/mcp/admin/memory", () => ops.memory());
  admin("GET", "/mcp/admin/queues", () => ops.queues());
}
