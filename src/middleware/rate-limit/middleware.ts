import type { JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";
import { GatewayError } from "../../errors/index.js";
// Rate limits key on the caller (a legacy session or one modern request): docs/adr/0140-caller-context-and-eras.md.
import type { CallerContext as Session } from "../../protocol/caller-context.js";
import type { ConfigStore } from "../../config/store.js";
import type { Middleware, MessageHandler } from "../compose.js";
import { channels } from "../../telemetry/channels.js";
import { ThrottledLog } from "../../telemetry/throttled-log.js";
import { NOTIFY_PREFIX, type RateLimiter, type RateVerdict } from "./service.js";
import { redactText } from "../../config/redact.js";

/** Answers a refused request (the relay's reject). */
export type Rejecter = (session: Session, id: JsonRpcId | null, err: GatewayError) => void;

/** Messages a session may have waiting behind a rate check before requests are refused outright. */
const MAX_BACKLOG = 1000;

function isRequest(m: JsonRpcMessage): boolean {
  const r = m as { method?: unknown; id?: unknown };
  return typeof r.method === "string" && r.id !== undefined && r.id !== null;
}

/** Notifications that are never counted: acks and cancellations are cheap, local, and must always get through. */
const FREE_NOTIFICATIONS = new Set(["notifications/gateway/ack", "notifications/cancelled"]);

/**
 * The window a message counts in, or null when it is not counted: requests
 * in `user:<client_id>` (but the `initialize` that opens a session, whose
 * cost was taken when the session was admitted, src/middleware/session-admission.ts);
 * notifications in `notify:<client_id>` (but acks and cancellations);
 * responses to server requests never.
 */
function keyOf(session: Session, m: JsonRpcMessage): string | null {
  const r = m as { method?: unknown; id?: unknown };
  if (typeof r.method !== "string") return null;
  if (r.id === undefined) return FREE_NOTIFICATIONS.has(r.method) ? null : `${NOTIFY_PREFIX}${session.clientId}`;
  if (r.id === null) return null;
  if (r.method === "initialize" && session.messagesIn === 0 && !session.initialized) return null;
  return rateKey(session);
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

const storeWarnings = new WeakMap<RateLimiter, ThrottledLog>();

/**
 * The one throttled "store failed" warning of a limiter, shared by request
 * counting and session admission, so an outage logs one line per interval
 * whichever of them meets it.
 */
export function storeWarningOf(limiter: RateLimiter, config: ConfigStore): ThrottledLog {
  let w = storeWarnings.get(limiter);
  if (!w) storeWarnings.set(limiter, (w = new ThrottledLog("warn", "MCP.RateLimiter", () => config.current.rate_limiting.store_warning_interval)));
  return w;
}

/**
 * Counts each client request against the client's window (`user:<id>`);
 * over the limit the request is answered with `rate_limit_exceeded` and
 * `retry_after` (seconds) in the error data. Notifications count in their
 * own window (`notify:<id>`, `rate_limiting.notification_limit`) and are
 * dropped past it; acks, cancellations and responses are never counted.
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
  const storeWarning = storeWarningOf(limiter, config);

  return (next: MessageHandler): MessageHandler => {
    const pass = (session: Session, m: JsonRpcMessage) => {
      try {
        next(session, m);
      } catch (err) {
        reject(session, (m as { id?: JsonRpcId }).id ?? null, err instanceof GatewayError ? err : new GatewayError("internal_error"));
      }
    };

    const decide = (session: Session, m: JsonRpcMessage, key: string, verdict: RateVerdict | null) => {
      if (verdict && !verdict.allowed) {
        if (channels.client.hasSubscribers) channels.client.publish({ type: "rate_limited", clientId: session.clientId, sessionId: session.id, key, retry_after: verdict.retryAfter });
        const id = (m as { id?: JsonRpcId }).id;
        // A notification has nobody to answer: past its window it is dropped (the event above says so).
        if (id !== undefined) reject(session, id, new GatewayError("rate_limit_exceeded", { retry_after: verdict.retryAfter, limit: verdict.limit, key }));
      } else pass(session, m);
    };

    /** Works through a session's backlog in order; returns when a check is pending or it is empty. */
    const pump = (session: Session, backlog: JsonRpcMessage[]) => {
      while (backlog.length > 0) {
        if (session.closed) break;
        const m = backlog[0]!;
        const key = config.current.rate_limiting.enabled ? keyOf(session, m) : null;
        if (key === null) {
          backlog.shift();
          pass(session, m);
          continue;
        }
        limiter.consume(key).then(
          (v) => {
            backlog.shift();
            decide(session, m, key, v);
            pump(session, backlog);
          },
          (err: Error) => {
            // Degraded, not broken: the store failed fast (no offline queue); rate_limiting.fail_mode decides.
            const open = config.current.rate_limiting.fail_mode === "open";
            storeWarning.log(`rate-limit store failed, ${open ? "allowing" : "refusing"} the request (fail_mode ${open ? "open" : "closed"}): ${err.message}`, { clientId: session.clientId });
            backlog.shift();
            if (open) decide(session, m, key, null);
            else if ((m as { id?: JsonRpcId }).id !== undefined) reject(session, (m as { id: JsonRpcId }).id, new GatewayError("rate_limit_unavailable", { reason: redactText(err.message) }));
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
      if (!config.current.rate_limiting.enabled || keyOf(session, message) === null) return next(session, message);
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
