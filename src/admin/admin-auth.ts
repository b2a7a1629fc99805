import type { IncomingMessage } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayConfig } from "../config/schema.js";
import { GatewayError } from "../errors/index.js";
import { bearerToken } from "../middleware/auth/token.js";

/** Digests of configured tokens, computed once per token value. */
const digests = new Map<string, Buffer>();

function digestOf(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Guards `/mcp/admin/*`: the request must carry `Authorization: Bearer
 * <admin.token>`. Both sides are hashed to sha256 first so the comparison is
 * constant-time (`timingSafeEqual`) and length-independent. Returns the error
 * to send (`admin_unauthorized`, 401) or null. The token never travels in the
 * query string.
 */
export function checkAdminToken(req: IncomingMessage, config: GatewayConfig): GatewayError | null {
  const expected = config.admin.token;
  const presented = bearerToken(req);
  if (!expected || presented === undefined) return new GatewayError("admin_unauthorized");
  return matches(presented, expected) ? null : new GatewayError("admin_unauthorized");
}

function matches(presented: string, expected: string): boolean {
  let digest = digests.get(expected);
  if (!digest) {
    // Tokens change only with a restart or a test's new gateway: a handful of entries at most.
    if (digests.size > 16) digests.clear();
    digests.set(expected, (digest = digestOf(expected)));
  }
  return timingSafeEqual(digestOf(presented), digest);
}

/**
 * Guards the ops pages that show one client or live figures
 * (`/mcp/health/client/:id`, `/dashboard`, `/dashboard/stream`): public in
 * the dev profile (the guide's curl lines carry no token), and outside dev
 * they need the admin token or the read-only `admin.ops_token` (ADR 0160).
 */
export function checkOpsToken(req: IncomingMessage, config: GatewayConfig): GatewayError | null {
  if (config.profile === "dev") return null;
  const presented = bearerToken(req);
  if (presented === undefined) return new GatewayError("admin_unauthorized");
  for (const t of [config.admin.token, config.admin.ops_token]) if (t && matches(presented, t)) return null;
  return new GatewayError("admin_unauthorized");
}
