import type { IncomingMessage } from "node:http";
import { log } from "../telemetry/channels.js";
import { pathOf } from "../listeners/http-util.js";

/** Header a caller of the admin API may name itself in (the console sends the operator name entered with the token). */
export const OPERATOR_HEADER = "x-mcp-operator";

/** What a self-declared operator name may contain: a log line must not be forged with newlines or escapes. */
const SAFE = /[^\w.@+ -]/g;

/**
 * Who made an admin request: the name it gave in `x-mcp-operator` (cut to 64
 * safe characters), where it came from, and what it used (`via`: the console
 * sets `x-mcp-client: console`). The admin token is shared, so the name is a
 * declaration, not an identity; the address is what the gateway saw.
 */
export function actorOf(req: IncomingMessage): { operator: string; remote: string; via: string } {
  const raw = req.headers[OPERATOR_HEADER];
  const name = (Array.isArray(raw) ? raw[0] : raw)?.replace(SAFE, "").trim().slice(0, 64);
  const via = req.headers["x-mcp-client"] === "console" ? "console" : "admin-api";
  return { operator: name || "admin-token", remote: req.socket.remoteAddress ?? "?", via };
}

/**
 * Records one operator action (every admin write: breaker reset, pool clear,
 * rate-limit reset, ending sessions, logging switches, ...) as a warn line in
 * the log with who did it and how it ended, so `grep MCP.Admin` answers "who
 * changed this". Reads are not recorded (the console polls them).
 */
export function auditAction(req: IncomingMessage, status: number, code?: string): void {
  const who = actorOf(req);
  const action = `${req.method} ${pathOf(req)}`;
  log("info", "MCP.Admin", `admin action ${action} by ${who.operator} (${who.via}, ${who.remote}): ${status < 400 ? "done" : `refused ${code ?? status}`}`, { action, ...who, status, ...(code ? { code } : {}) });
}
