/**
 * Options of {@link GatewayClient} with their defaults (the guide's numbers).
 */
import type { BackoffPolicy } from "./backoff.js";
import { MAX_RECOVERY_ATTEMPTS, RECONNECT_POLICY, RECOVERY_POLICY } from "./backoff.js";
import type { TransportKind, WebSocketConstructor } from "./wire.js";

/** Why the client asks for a token. */
export interface TokenRequest {
  /** "connect": before a connection attempt; "expired": the gateway said token_expired. */
  reason: "connect" | "expired";
}

/** How to build a {@link GatewayClient}. */
export interface GatewayClientOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:4000` (the SDK adds `/mcp`, `/mcp/ws`, `/mcp/sse`). */
  url: string;
  /** Client id the gateway knows you by (dev profile; with auth, the token names you). */
  clientId?: string;
  /**
   * Transports to use, in order of preference. Default: websocket, http_sse,
   * streamable_http. WebSocket and HTTP+SSE resume each other's sessions; a
   * Streamable HTTP session cannot move to another transport (nor back), so a
   * switch across it starts a new session (the client re-initializes).
   */
  transports?: TransportKind[];
  /** Consecutive failures on one transport before switching to the next. Default 3. */
  failoverThreshold?: number;
  /** A static bearer token. */
  token?: string;
  /** Token callback, asked before connecting and again when the gateway says the token expired. */
  getToken?: (request: TokenRequest) => string | Promise<string>;
  /** WebSocket implementation (Node 20 has none: pass `WebSocket` from the `ws` package). */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation. Default: the global one. */
  fetch?: typeof fetch;
  /** Extra HTTP headers on every request (Node; browsers restrict them). */
  headers?: Record<string, string>;
  /** Per-transport reconnect backoff (RobustEventSource). */
  reconnect?: Partial<BackoffPolicy>;
  /** Whole-client recovery backoff (RecoveryManager), and attempts before giving up (10). */
  recovery?: Partial<BackoffPolicy> & { maxAttempts?: number };
  /** Most unacknowledged messages in the application's hands. Default 50. */
  maxPending?: number;
  /** Reorder buffer size. Default 100. */
  reorderBuffer?: number;
  /** How long a hole in the sequence may stay open before a resume (ms). Default 2000. */
  gapTimeoutMs?: number;
  /** No sign of life for this long: the connection is dead (ms). Default 70000. 0 disables. */
  heartbeatTimeoutMs?: number;
  /** Idle this long: send a JSON-RPC ping to prove the connection (ms). Default 30000. 0 disables. */
  pingIntervalMs?: number;
  /** Re-initialize transparently when the gateway lost the session. Default true. */
  reinitialize?: boolean;
  /** End the gateway session (DELETE) on close(). Default true. */
  endSessionOnClose?: boolean;
  /** Random source for jitter (tests pass () => 0.5 for none). */
  random?: () => number;
}

/** Options with every default filled in. */
export interface ResolvedOptions extends Required<Omit<GatewayClientOptions, "clientId" | "token" | "getToken" | "WebSocket" | "headers" | "reconnect" | "recovery">> {
  clientId?: string;
  token?: string;
  getToken?: GatewayClientOptions["getToken"];
  WebSocket?: WebSocketConstructor;
  headers?: Record<string, string>;
  reconnect: BackoffPolicy;
  recovery: BackoffPolicy;
  maxRecoveryAttempts: number;
}

/** Fills in defaults and checks the options. */
export function resolveOptions(o: GatewayClientOptions): ResolvedOptions {
  if (!o || typeof o.url !== "string") throw new TypeError("GatewayClient needs options.url");
  // Fail here, not inside a reconnect loop.
  const parsed = new URL(o.url);
  if (!/^https?:$/.test(parsed.protocol)) throw new TypeError(`options.url must be http(s): ${o.url}`);
  const transports = o.transports ?? ["websocket", "http_sse", "streamable_http"];
  if (transports.length === 0) throw new TypeError("options.transports must name at least one transport");
  const fetchImpl = o.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
  if (!fetchImpl) throw new TypeError("no fetch available: pass options.fetch");
  const { maxAttempts, ...recovery } = o.recovery ?? {};
  return {
    url: o.url,
    clientId: o.clientId,
    transports,
    failoverThreshold: o.failoverThreshold ?? 3,
    token: o.token,
    getToken: o.getToken,
    WebSocket: o.WebSocket,
    fetch: fetchImpl.bind(globalThis),
    headers: o.headers,
    reconnect: { ...RECONNECT_POLICY, ...o.reconnect },
    recovery: { ...RECOVERY_POLICY, ...recovery },
    maxRecoveryAttempts: maxAttempts ?? MAX_RECOVERY_ATTEMPTS,
    maxPending: o.maxPending ?? 50,
    reorderBuffer: o.reorderBuffer ?? 100,
    gapTimeoutMs: o.gapTimeoutMs ?? 2000,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs ?? 70_000,
    pingIntervalMs: o.pingIntervalMs ?? 30_000,
    reinitialize: o.reinitialize ?? true,
    endSessionOnClose: o.endSessionOnClose ?? true,
    random: o.random ?? Math.random,
  };
}
