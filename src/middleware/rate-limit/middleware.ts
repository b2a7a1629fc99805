import type { JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";
import { GatewayError } from "../../errors/index.js";
// Rate limits key on the caller (a legacy session or one modern request): docs/adr/0140-caller-context-and-eras.md.
import type { CallerContext as Session } from "../../protocol/caller-context.js";
import type { ConfigStore } from "../../config/store.js";
import type { Middleware, MessageHandler } from "../compose.js";
import { channels } from "../../telemetry/channels.js";
import { ThrottledLog } from "../../telemetry/throttled-log.js";
import type { RateLimiter, RateVerdict } from "./service.js";
import { redactText } from "../../config/redact.js";

/** Answers a refused request (the relay's reject). */
export type Rejecter = (session: Session, id: JsonRpcId | null, err: GatewayError) => void;

/** Messages a session may have waiting behind a rate check before requests are refused outright. */
const MAX_BACKLOG = 1000;

function isRequest(m: JsonRpcMessage): boolean {
  const r = m as { method?: unknown; id?: unknown };
  return typeof r.method === "string" && r.id !== undefined && r.id !== null;
}

/**
 * A request this middleware counts: any request but the `initialize` that
 * opens a session, whose cost was taken when the session was admitted
 * (src/middleware/session-admission.ts).
 */
function counts(session: Session, m: JsonRpcMessage): boolean {
  if (!isRequest(m)) return false;
  return !((m as { method: string }).method === "initialize" && session.messagesIn === 0 && !session.initialized);
}

/**
 * The rate-limit key of a caller: `user:<client_id>` for a client with a name
 * (authenticated, or self-declared `client_id` in the dev profile); for an
 * anonymous dev-profile session, `session:<id>`, because its client id is only
 * its address, which every local app shares (one busy app must not lock out
 * the others). Anonymous modern-era callers have no session: they keep the
 * address key.
 */
export function rateKey(session: Session): string {
  if (session.identity?.anonymous && session.era === "legacy") return `session:${session.id}`;
  return `user:${session.clientId}`;
}

/**
 * Counts each client request (not notifications or responses) against the
 * client's window; over the limit the request is answered with
 * `rate_limit_exceeded` and `retry_after` (seconds) in the error data.
 *
 * The check is asynchronous (the store may be Redis), so while one is pending
 * the session's later messages wait behind it in a small per-session backlog:
 * a `notifications/cancelled` must never overtake the request it cancels.
 * Sessions with no check pending take the fast path (no backlog allocated).
 * A store failure lets the request through (fail open) and is logged, at
 * most once per `rate_limiting.store_warning_interval`: during a Redis outage
 * every request fails, and one line per request would flood the log.
 */
export function rateLimitMiddleware(limiter: RateLimiter, config: ConfigStore, reject: Rejecter): Middleware {
  const backlogs = new WeakMap<Session, JsonRpcMessage[]>();
  const storeWarning = new ThrottledLog("warn", "MCP.RateLimiter", () => config.current.rate_limiting.store_warning_interval);

  return (next: MessageHandler): MessageHandler => {
    const pass = (session: Session, m: JsonRpcMessage) => {
      try {
        next(session, m);
      } catch (err) {
        reject(session, (m as { id?: JsonRpcId }).id ?? null, err instanceof GatewayError ? err : new GatewayError("internal_error"));
      }
    };

    const decide = (session: Session, m: JsonRpcMessage, verdict: RateVerdict | null) => {
      if (verdict && !verdict.allowed) {
        if (channels.client.hasSubscribers) channels.client.publish({ type: "rate_limited", clientId: session.clientId, sessionId: session.id, key: rateKey(session), retry_after: verdict.retryAfter });
        reject(session, (m as { id: JsonRpcId }).id, new GatewayError("rate_limit_exceeded", { retry_after: verdict.retryAfter, limit: verdict.limit, key: rateKey(session) }));
      } else pass(session, m);
    };

    /** Works through a session's backlog in order; returns when a check is pending or it is empty. */
    const pump = (session: Session, backlog: JsonRpcMessage[]) => {
      while (backlog.length > 0) {
        if (session.closed) break;
        const m = backlog[0]!;
        if (!config.current.rate_limiting.enabled || !counts(session, m)) {
          backlog.shift();
          pass(session, m);
          continue;
        }
        limiter.consume(rateKey(session)).then(
          (v) => {
            backlog.shift();
            decide(session, m, v);
            pump(session, backlog);
          },
          (err: Error) => {
            // Degraded, not broken: the store failed fast (no offline queue); rate_limiting.fail_mode decides.
            const open = config.current.rate_limiting.fail_mode === "open";
            storeWarning.log(`rate-limit store failed, ${open ? "allowing" : "refusing"} the request (fail_mode ${open ? "open" : "closed"}): ${err.message}`, { clientId: session.clientId });
            backlog.shift();
            if (open) decide(session, m, null);
            else reject(session, (m as { id: JsonRpcId }).id, new GatewayError("rate_limit_unavailable", { reason: redactText(err.message) }));
            pump(session, backlog);
          },
        );
        return;
      }
      backlogs.delete(session);
    };

    return (session, message) => {
      const backlog = backlogs.get(session);
      if (backlog) {
        if (backlog.length < MAX_BACKLOG) backlog.push(message);
        else if (isRequest(message)) reject(session, (message as { id: JsonRpcId }).id, new GatewayError("rate_limit_exceeded", { retry_after: 1 }));
        return;
      }
      if (!config.current.rate_limiting.enabled || !counts(session, message)) return next(session, message);
      const fresh = [message];
      backlogs.set(session, fresh);
      pump(session, fresh);
    };
  };
}

/**
 * `retry_after` of a JSON-RPC error answer that is a rate-limit refusal, else
 * undefined. The Streamable HTTP listener uses it to answer such a POST with
 * HTTP 429 + Retry-After (one property check on the answer path).
 */
export function rateLimitedRetryAfter(message: JsonRpcMessage): number | undefined {
  const data = (message as { error?: { data?: { error?: unknown; retry_after?: unknown } } }).error?.data;
  if (data === undefined || data.error !== "rate_limit_exceeded") return undefined;
  return typeof data.retry_after === "number" ? data.retry_after : 1;
}
