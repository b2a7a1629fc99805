import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/index.js";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Settings the Origin/Host check reads. */
export interface OriginPolicy {
  /** The address the gateway is bound to. */
  host: string;
  /** Extra allowed Origins ("*" allows any). */
  allowedOrigins: readonly string[];
  /** Allowed Host header names; empty means loopback names when bound to loopback. */
  allowedHosts: readonly string[];
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  const colon = hostHeader.lastIndexOf(":");
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

function isLoopbackBind(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith("127.");
}

/**
 * DNS-rebinding protection (MCP transport rules): a request whose Host is not
 * the gateway's own name, or whose Origin is not allowed, is refused with 403.
 * Returns the error instead of throwing: it runs on every request.
 */
export function checkOrigin(req: IncomingMessage, policy: OriginPolicy): GatewayError | null {
  const hostHeader = req.headers.host;
  const hostname = hostHeader ? hostnameOf(hostHeader).toLowerCase() : "";
  if (policy.allowedHosts.length > 0) {
    if (!policy.allowedHosts.includes(hostname) && !policy.allowedHosts.includes("*")) return new GatewayError("host_not_allowed", { host: hostHeader });
  } else if (isLoopbackBind(policy.host) && hostHeader && !LOOPBACK_NAMES.has(hostname) && !hostname.startsWith("127.")) {
    return new GatewayError("host_not_allowed", { host: hostHeader });
  }
  const origin = req.headers.origin;
  if (!origin || origin === "null") return origin === "null" && !policy.allowedOrigins.includes("null") ? new GatewayError("origin_not_allowed", { origin }) : null;
  if (policy.allowedOrigins.includes("*") || policy.allowedOrigins.includes(origin)) return null;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return new GatewayError("origin_not_allowed", { origin });
  }
  // Same-origin pages (e.g. the dashboard) are always fine.
  if (hostHeader && originHost === hostHeader.toLowerCase()) return null;
  const originName = hostnameOf(originHost);
  if (isLoopbackBind(policy.host) && (LOOPBACK_NAMES.has(originName) || originName.startsWith("127."))) return null;
  return new GatewayError("origin_not_allowed", { origin });
}
