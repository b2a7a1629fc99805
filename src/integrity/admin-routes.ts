import type { IncomingMessage, ServerResponse } from "node:http";
import type { Router } from "../listeners/router.js";
import type { ConfigStore } from "../config/store.js";
import { GatewayError, toGatewayError } from "../errors/index.js";
import { queryOf, readJsonObject, sendError, sendJson } from "../listeners/http-util.js";
import { checkAdminToken } from "../admin/admin-auth.js";
import { PIN_KINDS, type PinKind } from "./fingerprint.js";
import type { IntegrityService } from "./integrity-service.js";

const BODY_LIMIT = 16 * 1024;

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  return req.method === "POST" ? readJsonObject(req, BODY_LIMIT) : {};
}

const optional = (name: string, v: unknown): string | undefined => {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new GatewayError("invalid_params", { detail: `${name} must be a string` });
  return v;
};
const required = (name: string, v: unknown): string => optional(name, v) ?? (() => { throw new GatewayError("invalid_params", { detail: `${name} is required` }); })();
const kindOf = (v: unknown): PinKind | undefined => {
  const k = optional("kind", v);
  if (k !== undefined && !(PIN_KINDS as readonly string[]).includes(k)) throw new GatewayError("invalid_params", { detail: `kind must be one of ${PIN_KINDS.join(", ")}` });
  return k as PinKind | undefined;
};

/**
 * The integrity part of the admin API (Bearer admin token, like every
 * `/mcp/admin/*` route): the overview, every definition with its pin state,
 * one definition's diff, approval, and pin-all. The CLI's `tools` commands
 * and the doctor call these.
 */
export function registerIntegrityRoutes(router: Router, config: ConfigStore, service: IntegrityService): void {
  const admin = (method: string, path: string, action: (req: IncomingMessage, b: Record<string, unknown>) => unknown) =>
    router.on(method, path, (req: IncomingMessage, res: ServerResponse) => {
      const denied = checkAdminToken(req, config.current);
      if (denied) return sendError(res, denied, { "www-authenticate": 'Bearer realm="mcp-gateway-admin"' });
      return Promise.resolve()
        .then(async () => action(req, await body(req)))
        .then((result) => sendJson(res, 200, result))
        .catch((err) => sendError(res, toGatewayError(err)));
    });
  admin("GET", "/mcp/admin/integrity", () => service.summary());
  admin("GET", "/mcp/admin/tools", () => ({ definitions: service.list() }));
  admin("GET", "/mcp/admin/tools/diff", (req) => {
    const q = queryOf(req);
    return service.diff(required("name", q.get("name")), optional("upstream", q.get("upstream")), kindOf(q.get("kind")));
  });
  admin("POST", "/mcp/admin/tools/approve", async (_req, b) => ({ approved: await service.approve(required("name", b.name), { upstream: optional("upstream", b.upstream), kind: kindOf(b.kind), fingerprint: optional("fingerprint", b.fingerprint) }) }));
  admin("POST", "/mcp/admin/tools/pin", async (_req, b) => {
    if (b.all === true) return service.pinAll();
    return { approved: await service.approve(required("name (or all: true)", b.name), { upstream: optional("upstream", b.upstream), kind: kindOf(b.kind) }) };
  });
}
