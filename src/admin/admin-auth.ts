import type { IncomingMessage } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import type { GatewayConfig } from "../config/schema.js";
import { GatewayError } from "../errors/index.js";
import { bearerToken } from "../middleware/auth/token.js";

/** Digest of the configured token, computed once per token value. */
let cached: { token: string; digest: Buffer } | undefined;

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
  if (cached?.token !== expected) cached = { token: expected, digest: digestOf(expected) };
  return timingSafeEqual(digestOf(presented), cached.digest) ? null : new GatewayError("admin_unauthorized");
}
