/**
 * Errors the client SDK surfaces. Each has a stable `code` (so applications
 * can branch on it) and, when the gateway said why, its catalogue error and
 * reason (`authentication_failed` / `token_expired`, `rate_limit_exceeded`, ...).
 */

/** Why the client failed. */
export type GatewayClientErrorCode =
  /** The gateway refused the credentials and a refresh did not help (or the token is invalid). */
  | "authentication_failed"
  /** RecoveryManager gave up: every transport failed `maxRecoveryAttempts` rounds in a row. */
  | "max_recovery_attempts"
  /** The gateway no longer knows the session (restarted, expired) and re-initializing is off or failed. */
  | "session_lost"
  /** A call was in flight when its connection or session was lost and its outcome is unknown. */
  | "connection_lost"
  /** The client was used wrongly (send before start, after close, ...). */
  | "invalid_state";

/** An error raised or emitted by the client SDK. */
export class GatewayClientError extends Error {
  override readonly name = "GatewayClientError";

  constructor(
    readonly code: GatewayClientErrorCode,
    message: string,
    readonly details: {
      /** The gateway's catalogue error, when it named one. */
      error?: string;
      /** The gateway's reason (e.g. `token_expired`). */
      reason?: string;
      /** HTTP status of the refusal, if any. */
      status?: number;
      /** Seconds to wait, when the gateway said so. */
      retryAfter?: number | null;
      /** Transport the failure happened on. */
      transport?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message);
  }
}

/** JSON-RPC error code used for calls the client fails locally (session or connection lost). */
export const CLIENT_CALL_LOST_CODE = -32011;
