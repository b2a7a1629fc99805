/**
 * The error catalogue: every failure the gateway reports has a stable code,
 * a message template, and how each wire shows it (HTTP status, JSON-RPC code,
 * WebSocket close code). Codes are public API: never rename one.
 */
export interface CatalogueEntry {
  /** HTTP status when the failure is the answer to an HTTP request. */
  readonly http: number;
  /** JSON-RPC error code (-32000..-32099 are the gateway's own). */
  readonly jsonrpc: number;
  /** WebSocket close code when the failure ends the connection. */
  readonly close: number;
  /** Message template; `{name}` placeholders are filled from the details. */
  readonly message: string;
}

export const CATALOGUE = {
  // JSON-RPC protocol errors
  parse_error: { http: 400, jsonrpc: -32700, close: 1007, message: "Parse error: {detail}" },
  invalid_request: { http: 400, jsonrpc: -32600, close: 1008, message: "Invalid request: {detail}" },
  method_not_found: { http: 404, jsonrpc: -32601, close: 1008, message: "Method not found: {method}" },
  invalid_params: { http: 400, jsonrpc: -32602, close: 1008, message: "Invalid params: {detail}" },
  internal_error: { http: 500, jsonrpc: -32603, close: 1011, message: "Internal error" },
  tool_not_found: { http: 404, jsonrpc: -32602, close: 1008, message: "Unknown tool: {tool}" },
  prompt_not_found: { http: 404, jsonrpc: -32602, close: 1008, message: "Unknown prompt: {prompt}" },
  resource_not_found: { http: 404, jsonrpc: -32002, close: 1008, message: "Resource not found: {uri}" },
  batch_not_supported: { http: 400, jsonrpc: -32600, close: 1008, message: "JSON-RPC batches are not supported (removed in MCP 2025-06-18)" },
  not_initialized: { http: 400, jsonrpc: -32600, close: 1008, message: "Session not initialized: send initialize first" },
  /** A client message nesting objects/arrays deeper than server.max_json_depth (refused at the edge, before any upstream work). */
  nesting_too_deep: { http: 400, jsonrpc: -32600, close: 1008, message: "Invalid request: the message nests deeper than {limit} levels (server.max_json_depth)" },
  /** A request whose id (same JSON type and value) is still in flight on the same session. */
  duplicate_request_id: { http: 409, jsonrpc: -32600, close: 1008, message: "Invalid request: id {id} is already in flight on this session" },

  // The guide's gateway-specific errors
  pool_timeout: { http: 503, jsonrpc: -32001, close: 1011, message: "Connection pool exhausted: no upstream connection for {upstream} within {timeout_ms} ms" },
  rate_limit_exceeded: { http: 429, jsonrpc: -32029, close: 1008, message: "Rate limit exceeded: retry after {retry_after} s" },
  circuit_open: { http: 503, jsonrpc: -32003, close: 1011, message: "Circuit breaker open for {target}" },
  transport_unavailable: { http: 503, jsonrpc: -32004, close: 1013, message: "No healthy transport: {transport} is unavailable" },
  authentication_failed: { http: 401, jsonrpc: -32005, close: 1008, message: "Authentication failed: {reason}" },

  // Everything else the gateway can say
  insufficient_scope: { http: 403, jsonrpc: -32006, close: 1008, message: "Insufficient scope: {scope} required" },
  forbidden_tool: { http: 403, jsonrpc: -32007, close: 1008, message: "Not allowed to call {tool}" },
  origin_not_allowed: { http: 403, jsonrpc: -32008, close: 1008, message: "Origin not allowed: {origin}" },
  host_not_allowed: { http: 403, jsonrpc: -32008, close: 1008, message: "Host not allowed: {host}" },
  message_too_large: { http: 413, jsonrpc: -32009, close: 1008, message: "Message too large: {size} bytes exceeds the limit of {limit}" },
  session_required: { http: 400, jsonrpc: -32010, close: 1008, message: "Mcp-Session-Id header required" },
  session_not_found: { http: 404, jsonrpc: -32011, close: 1008, message: "Session not found: {session_id}" },
  unsupported_protocol_version: { http: 400, jsonrpc: -32012, close: 1008, message: "Unsupported MCP-Protocol-Version: {version}" },
  not_acceptable: { http: 406, jsonrpc: -32013, close: 1008, message: "Not Acceptable: {detail}" },
  unsupported_media_type: { http: 415, jsonrpc: -32014, close: 1008, message: "Unsupported Media Type: {detail}" },
  method_not_allowed: { http: 405, jsonrpc: -32015, close: 1008, message: "Method not allowed: {method}" },
  upstream_unavailable: { http: 502, jsonrpc: -32016, close: 1011, message: "Upstream {upstream} is unavailable: {reason}" },
  upstream_timeout: { http: 504, jsonrpc: -32017, close: 1011, message: "Upstream {upstream} did not answer {method} within {timeout_ms} ms" },
  upstream_error: { http: 502, jsonrpc: -32018, close: 1011, message: "Upstream {upstream} failed: {reason}" },
  request_cancelled: { http: 499, jsonrpc: -32019, close: 1000, message: "Request cancelled" },
  // -32020..-32022 belong to MCP 2026-07-28 on every wire (header mismatch, missing client capability,
  // unsupported version); these three used them before the revision and moved (docs/adr/0230).
  too_many_connections: { http: 503, jsonrpc: -32025, close: 1013, message: "Too many connections: {detail}" },
  request_timeout: { http: 408, jsonrpc: -32026, close: 1008, message: "Request not received in time" },
  shutting_down: { http: 503, jsonrpc: -32027, close: 1001, message: "Gateway is shutting down" },
  backpressure_dropped: { http: 503, jsonrpc: -32023, close: 1013, message: "Message dropped: client is not keeping up" },
  replay_gap: { http: 409, jsonrpc: -32024, close: 1008, message: "Messages {from}..{to} are no longer in the replay buffer" },
  admin_unauthorized: { http: 401, jsonrpc: -32005, close: 1008, message: "Admin token required" },
  not_found: { http: 404, jsonrpc: -32601, close: 1008, message: "Not found: {path}" },
  config_invalid: { http: 400, jsonrpc: -32602, close: 1008, message: "{detail}" },
  client_not_found: { http: 404, jsonrpc: -32011, close: 1008, message: "Unknown client: {client_id}" },
  /** An admin action whose service (resilience, rate limiting) is not installed on this gateway. */
  not_implemented: { http: 501, jsonrpc: -32030, close: 1011, message: "{service} is not available on this gateway" },
  /** Cluster mode: the node holding the session went away while it served this request (retry: another node takes over). */
  cluster_node_lost: { http: 503, jsonrpc: -32041, close: 1012, message: "The gateway node serving this session ({node}) went away; retry" },
  /** More request headers than server.max_headers_count (size overflows are answered 431 by Node's parser). */
  headers_too_large: { http: 431, jsonrpc: -32040, close: 1008, message: "Request header fields too large: {detail}" },

  // The modern wire (MCP 2026-07-28): codes the revision fixes, plus the gateway's sealed state.
  /** SEP-2243: an Mcp-Method/Mcp-Name/MCP-Protocol-Version header disagrees with the body (or is missing). */
  header_mismatch: { http: 400, jsonrpc: -32020, close: 1008, message: "Header mismatch: {detail}" },
  /** The request needs a client capability the caller did not declare in _meta (data.requiredCapabilities). */
  missing_client_capability: { http: 400, jsonrpc: -32021, close: 1008, message: "Missing required client capability: {capability}" },
  /** A modern request names a revision the gateway does not serve (data.supported, data.requested). */
  unsupported_version: { http: 400, jsonrpc: -32022, close: 1008, message: "Unsupported protocol version: {requested}" },
  /** A sealed token (requestState, task id) that is tampered, foreign, malformed or expired. */
  sealed_state_invalid: { http: 400, jsonrpc: -32602, close: 1008, message: "Invalid {purpose}: {reason}" },
  /** MRTR bridge: the client did not come back with the input a legacy upstream asked for. */
  input_timeout: { http: 408, jsonrpc: -32042, close: 1008, message: "No input for {method} within {timeout_ms} ms" },
  /**
   * MRTR bridge: a retry whose held call no longer exists (answered, timed out, cancelled, or its
   * node died). The call is never re-run behind the client's back: it sends the request afresh.
   */
  input_call_gone: { http: 400, jsonrpc: -32045, close: 1008, message: "The call waiting for this input is gone ({reason}); send the request again without requestState" },
  /** A feature the other era has no counterpart for (the bridge says so instead of going silent). */
  no_counterpart: { http: 400, jsonrpc: -32043, close: 1008, message: "{feature} has no counterpart on the {era} wire" },
  /** The rate limiter's store (Redis) is unreachable and `rate_limiting.fail_mode` is `closed`. */
  rate_limit_unavailable: { http: 503, jsonrpc: -32031, close: 1013, message: "Rate limiting is unavailable ({reason}); requests are refused until it is back (rate_limiting.fail_mode: closed)" },
  /** A new session past session.max_sessions_per_client or session.max_sessions (existing sessions are unaffected). */
  too_many_sessions: { http: 429, jsonrpc: -32051, close: 1013, message: "Too many sessions: {detail}" },

  // Tool integrity (docs/integrity.md).
  /** integrity.mode enforce: the tool's definition differs from its pin (or was never pinned); an operator approves it (docs/integrity.md). */
  tool_definition_changed: { http: 409, jsonrpc: -32060, close: 1008, message: "Tool {tool} is withheld: its definition {reason}; an operator must approve it (mcp-gateway tools approve {tool})" },
  /** integrity.scan block: the tool's description failed the poisoned-description scan. */
  tool_definition_blocked: { http: 403, jsonrpc: -32061, close: 1008, message: "Tool {tool} is withheld: its definition failed the integrity scan ({rules})" },
} as const satisfies Record<string, CatalogueEntry>;

/** Every code the catalogue knows. */
export type ErrorCode = keyof typeof CATALOGUE;
