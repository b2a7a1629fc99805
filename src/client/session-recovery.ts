/**
 * Recreating a session the gateway lost (restart, expiry): re-run the
 * application's `initialize` on the new session, send
 * `notifications/initialized`, then restore what the session held
 * (subscriptions, log level) before the application's queued calls go out,
 * since they depend on it. See ADR 0072.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { backoffDelay } from "./backoff.js";
import { GatewayClientError } from "./errors.js";
import type { SessionMemory } from "./session-memory.js";

/** Retry delays for restoring session state on a gateway that is still starting its upstreams. */
const RESTORE_POLICY = { baseMs: 250, factor: 2, maxMs: 4000, jitter: 0 };
/** Tries per restored item: about 16 s in all, for a gateway still loading its upstreams. */
const RESTORE_ATTEMPTS = 8;

/** What recovery needs from the client, bound to the connection it started on. */
export interface RecoveryHost {
  /** Sends a request of the client's own; resolves with its answer (an error answer if the connection went). */
  request(method: string, params?: Record<string, unknown>): Promise<JSONRPCMessage>;
  /** Sends a notification. */
  notify(message: JSONRPCMessage): Promise<void>;
  /** False once the connection was replaced or the client closed: stop quietly. */
  current(): boolean;
  /** A non-fatal failure to report. */
  report(error: GatewayClientError): void;
}

/** Outcome of {@link recreateSession}. */
export type RecoveryOutcome =
  | { status: "done"; protocolVersion?: string }
  | { status: "interrupted" }
  | { status: "failed"; error: GatewayClientError };

/** Re-initializes and restores; the caller then sends what waited. */
export async function recreateSession(memory: SessionMemory, host: RecoveryHost, onInitialized: (protocolVersion?: string) => void): Promise<RecoveryOutcome> {
  const answer = await host.request("initialize", memory.initializeParams);
  if (!host.current()) return { status: "interrupted" };
  const result = (answer as { result?: { protocolVersion?: string } }).result;
  if (!result) {
    return { status: "failed", error: new GatewayClientError("session_lost", `Re-initializing the session failed: ${JSON.stringify((answer as { error?: unknown }).error)}`) };
  }
  onInitialized(result.protocolVersion);
  await host.notify({ jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage).catch(() => {});
  await Promise.all(memory.restoreRequests().map((r) => restore(r, host)));
  return host.current() ? { status: "done", protocolVersion: result.protocolVersion } : { status: "interrupted" };
}

/**
 * Re-sends one piece of session state. A gateway that just restarted may
 * accept connections before it lists its upstreams' resources, so a refusal
 * is retried (250 ms doubling to 4 s, 8 tries) before it is reported.
 */
async function restore(m: { method: string; params: Record<string, unknown> }, host: RecoveryHost): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const answer = await host.request(m.method, m.params);
    const error = (answer as { error?: { message?: string } }).error;
    if (!error || !host.current()) return;
    if (attempt >= RESTORE_ATTEMPTS - 1) {
      host.report(new GatewayClientError("session_lost", `Could not restore ${m.method} ${JSON.stringify(m.params)} on the new session: ${error.message}`));
      return;
    }
    await new Promise((r) => setTimeout(r, backoffDelay(RESTORE_POLICY, attempt)));
    if (!host.current()) return;
  }
}
