import type { IncomingMessage } from "node:http";
import { queryOf } from "../../listeners/http-util.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The Bearer token of a request, from the `Authorization` header only. The
 * MCP authorization rules forbid tokens in the query string for HTTP: URLs
 * end up in proxy logs, browser history and Referer headers.
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== "string") return undefined;
  const m = BEARER.exec(header);
  return m ? m[1] : undefined;
}

/**
 * The token of a WebSocket upgrade: the Bearer header, or else the `token`
 * connect parameter. Browsers cannot set headers on `new WebSocket()`, and
 * Phoenix clients send `socket.params` (the guide's `socket.params.token`) as
 * query parameters of the upgrade, so this one exception is accepted for
 * upgrades only; plain HTTP requests never read the query.
 */
export function upgradeToken(req: IncomingMessage): string | undefined {
  const fromHeader = bearerToken(req);
  if (fromHeader !== undefined) return fromHeader;
  if (!isUpgrade(req)) return undefined;
  const q = queryOf(req).get("token");
  return q ? q : undefined;
}

/**
 * True for a real WebSocket upgrade: one Node's parser handed to the
 * `upgrade` event (`req.upgrade`, which needs `Connection: Upgrade` too),
 * not a plain HTTP request that merely carries an `Upgrade: websocket`
 * header, which must not unlock `?token=`.
 */
export function isUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return (req as { upgrade?: boolean }).upgrade === true && typeof upgrade === "string" && upgrade.toLowerCase() === "websocket";
}

/** Scopes from a JWT payload: `scope` (space-separated, RFC 8693/9068) or `scp` (array or string). */
export function scopesOf(payload: Record<string, unknown>): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}
