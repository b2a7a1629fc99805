import { GatewayError } from "../errors/index.js";
import type { ConfigStore } from "../config/store.js";
import type { SessionRegistry } from "../session/registry.js";
import type { ClientIdentity } from "../listeners/identity.js";
import { channels } from "../telemetry/channels.js";
import { storeWarningOf } from "./rate-limit/middleware.js";
import { redactText } from "../config/redact.js";
import type { RateLimiter } from "./rate-limit/service.js";

/**
 * Decides whether a client may open one more session, before anything is
 * created (a refused request must leave nothing behind):
 *
 * - `session.max_sessions` caps the sessions of this node, and
 *   `session.max_sessions_per_client` those of one client_id, attached or
 *   not (a Streamable HTTP client that never DELETEs holds its sessions until
 *   the TTL): past either, `too_many_sessions` (HTTP 429).
 * - Creating a session costs one request of the client's rate-limit window
 *   (`user:<client_id>`), so `GET /mcp/sse` and WebSocket upgrades are counted
 *   like an `initialize` POST. The session's own `initialize` is not counted
 *   again (see `rateLimitMiddleware`). A failing store is handled as for
 *   requests (`rate_limiting.fail_mode`).
 *
 * Resumes do not pass here: they create nothing.
 */
export function sessionAdmission(registry: SessionRegistry, config: ConfigStore, limiter: RateLimiter | undefined) {
  const storeWarning = limiter ? storeWarningOf(limiter, config) : undefined;
  return async (identity: ClientIdentity): Promise<void> => {
    const c = config.current;
    const clientId = identity.clientId;
    if (registry.size >= c.session.max_sessions) refuse(clientId, registry.size, c.session.max_sessions, `the gateway holds ${registry.size} sessions (session.max_sessions ${c.session.max_sessions})`);
    const mine = registry.countOf(clientId);
    if (mine >= c.session.max_sessions_per_client) refuse(clientId, mine, c.session.max_sessions_per_client, `client ${clientId} holds ${mine} sessions (session.max_sessions_per_client ${c.session.max_sessions_per_client})`);
    if (!limiter || !c.rate_limiting.enabled) return;
    let verdict;
    try {
      verdict = await limiter.consume(`user:${clientId}`);
    } catch (err) {
      // As for requests: rate_limiting.fail_mode decides whether a failing store lets the session through.
      const open = c.rate_limiting.fail_mode === "open";
      storeWarning?.log(`rate-limit store failed, ${open ? "allowing" : "refusing"} the request (fail_mode ${open ? "open" : "closed"}): ${(err as Error).message}`, { clientId });
      if (open) return;
      throw new GatewayError("rate_limit_unavailable", { reason: redactText((err as Error).message) });
    }
    if (!verdict.allowed) {
      if (channels.client.hasSubscribers) channels.client.publish({ type: "rate_limited", clientId, key: `user:${clientId}`, retry_after: verdict.retryAfter });
      throw new GatewayError("rate_limit_exceeded", { retry_after: verdict.retryAfter, limit: verdict.limit });
    }
  };
}

function refuse(clientId: string, sessions: number, limit: number, detail: string): never {
  if (channels.client.hasSubscribers) channels.client.publish({ type: "session_refused", clientId, sessions, limit });
  throw new GatewayError("too_many_sessions", { detail, limit });
}
