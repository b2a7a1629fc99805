/**
 * Names from the OpenTelemetry MCP semantic conventions (GenAI semconv,
 * docs/gen-ai/mcp.md, status Development) and the gateway's own
 * `mcp_gateway.*` attributes. One place, so a rename in the convention is one
 * edit here.
 */

export const ATTR = {
  method: "mcp.method.name",
  protocolVersion: "mcp.protocol.version",
  sessionId: "mcp.session.id",
  resourceUri: "mcp.resource.uri",
  requestId: "jsonrpc.request.id",
  toolName: "gen_ai.tool.name",
  promptName: "gen_ai.prompt.name",
  operationName: "gen_ai.operation.name",
  toolArguments: "gen_ai.tool.call.arguments",
  toolResult: "gen_ai.tool.call.result",
  statusCode: "rpc.response.status_code",
  errorType: "error.type",
  networkTransport: "network.transport",
  networkProtocolName: "network.protocol.name",
  networkProtocolVersion: "network.protocol.version",
  serverAddress: "server.address",
  serverPort: "server.port",
  clientAddress: "client.address",
  clientPort: "client.port",
} as const;

/** The gateway's own attributes (documented in docs/operations.md). */
export const GATEWAY_ATTR = {
  /** Upstream (config name) a CLIENT span went to. */
  upstream: "mcp_gateway.upstream",
  /** Replica id (`<upstream>#<n>`). */
  replica: "mcp_gateway.replica",
  /** The authenticated client (SERVER spans). */
  clientId: "mcp_gateway.client.id",
  /** Client transport (streamable_http, http_sse, websocket, phoenix). */
  clientTransport: "mcp_gateway.client.transport",
  /** 1 for the first upstream attempt of a client request, 2 for its first retry, ... */
  attempt: "mcp_gateway.attempt",
  /** True on a retry (a later attempt of the same client request). */
  retry: "mcp_gateway.retry",
  /** True when this attempt went to another replica than the first (failover). */
  failover: "mcp_gateway.failover",
  /** The gateway's catalogue error code (data.error of its JSON-RPC errors). */
  errorCode: "mcp_gateway.error.code",
} as const;

/** The convention's ExplicitBucketBoundaries for all three histograms (seconds). */
export const DURATION_BUCKETS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export const METRIC = {
  serverOperation: "mcp.server.operation.duration",
  clientOperation: "mcp.client.operation.duration",
  serverSession: "mcp.server.session.duration",
} as const;

/** error.type when a call succeeded on the wire but its CallToolResult says isError. */
export const TOOL_ERROR = "tool_error";

/** Span name: `{mcp.method.name} {target}`, target the tool or prompt name when there is one. */
export function spanName(method: string, target: string | undefined): string {
  return target === undefined ? method : `${method} ${target}`;
}

/** The tool or prompt a request is about (the low-cardinality span-name target). */
export function targetOf(method: string, params: Record<string, unknown> | undefined): { tool?: string; prompt?: string } {
  const name = params?.name;
  if (typeof name !== "string") {
    if (method === "completion/complete") {
      const ref = params?.ref as { type?: string; name?: unknown } | undefined;
      if (ref?.type === "ref/prompt" && typeof ref.name === "string") return { prompt: ref.name };
    }
    return {};
  }
  if (method === "tools/call") return { tool: name };
  if (method === "prompts/get") return { prompt: name };
  return {};
}

/** What a response says about the outcome: error.type, rpc.response.status_code, a status message. */
export interface Outcome {
  errorType?: string;
  statusCode?: string;
  message?: string;
  /** The gateway's catalogue code, when the error is one of its own. */
  gatewayCode?: string;
}

/** Reads the outcome of a JSON-RPC response (an error code, or a tool result with isError). */
export function outcomeOf(message: unknown): Outcome {
  const m = message as { error?: { code?: unknown; message?: unknown; data?: { error?: unknown } }; result?: { isError?: unknown } };
  if (m.error !== undefined && m.error !== null) {
    const code = String(m.error.code);
    const gatewayCode = typeof m.error.data?.error === "string" ? m.error.data.error : undefined;
    return { errorType: code, statusCode: code, message: typeof m.error.message === "string" ? m.error.message : undefined, gatewayCode };
  }
  if (m.result?.isError === true) return { errorType: TOOL_ERROR, message: "tool returned isError" };
  return {};
}

/**
 * JSON-RPC codes that, answered by a server, say the caller sent a request the
 * server could not serve (parse error, invalid request, unknown method,
 * invalid params, which includes an unknown tool, resource not found): the
 * convention's server status rule says they SHOULD NOT count as the server's
 * errors. CLIENT spans count every code.
 */
export const CALLER_FAULT_CODES: ReadonlySet<string> = new Set(["-32700", "-32600", "-32601", "-32602", "-32002"]);

/** The outcome as a SERVER span records it: a caller fault keeps its status code (and catalogue code) but is no error. */
export function serverOutcome(outcome: Outcome): Outcome {
  if (outcome.statusCode === undefined || !CALLER_FAULT_CODES.has(outcome.statusCode)) return outcome;
  return { statusCode: outcome.statusCode, gatewayCode: outcome.gatewayCode };
}

/** network.protocol.name / version of a client transport (the convention's "Recording MCP transport" table). */
export function clientProtocol(transport: string): { name: string; version?: string } {
  if (transport === "websocket" || transport === "phoenix") return { name: "websocket" };
  return { name: "http", version: "1.1" };
}
