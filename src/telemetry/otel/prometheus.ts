import { Histogram, type Registry } from "../prom.js";
import type { Attributes } from "@opentelemetry/api";
import { ATTR, DURATION_BUCKETS, GATEWAY_ATTR } from "./semconv.js";
import type { DurationSink } from "./relay-tracer.js";

/**
 * The convention's three histograms on /metrics, named as the OpenTelemetry
 * -> Prometheus translation names them (dots to underscores, the unit as a
 * `_seconds` suffix) with the convention's buckets. The guide's own
 * `gateway_*` series are untouched: these are extra series beside them.
 */
export const PROMETHEUS_NAMES = {
  server: "mcp_server_operation_duration_seconds",
  client: "mcp_client_operation_duration_seconds",
  session: "mcp_server_session_duration_seconds",
} as const;

const label = (attr: string) => attr.replace(/\./g, "_");

const SERVER_ATTRS = [ATTR.method, ATTR.toolName, ATTR.promptName, ATTR.operationName, ATTR.errorType, ATTR.statusCode, ATTR.protocolVersion, ATTR.networkTransport, ATTR.networkProtocolName];
const CLIENT_ATTRS = [ATTR.method, ATTR.toolName, ATTR.promptName, ATTR.operationName, ATTR.errorType, ATTR.statusCode, ATTR.protocolVersion, ATTR.networkTransport, ATTR.serverAddress, ATTR.serverPort, GATEWAY_ATTR.upstream];
const SESSION_ATTRS = [ATTR.errorType, ATTR.protocolVersion, ATTR.networkTransport, ATTR.networkProtocolName];

/** Keeps the attributes a histogram has labels for (span-only ones like jsonrpc.request.id never become labels). */
function labelsOf(attrs: Attributes, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined) out[label(k)] = String(v);
  }
  return out;
}

/** A DurationSink writing to prom-client histograms in the gateway's registry. */
export function prometheusSink(registry: Registry): DurationSink {
  const make = (name: string, help: string, keys: readonly string[]) =>
    new Histogram({ name, help, labelNames: keys.map(label), buckets: DURATION_BUCKETS, registers: [registry] });
  const server = make(PROMETHEUS_NAMES.server, "MCP request duration as the gateway (the MCP server) saw it, received to answered (OpenTelemetry mcp.server.operation.duration)", SERVER_ATTRS);
  const client = make(PROMETHEUS_NAMES.client, "MCP request duration per upstream attempt, sent to answered (OpenTelemetry mcp.client.operation.duration)", CLIENT_ATTRS);
  const session = make(PROMETHEUS_NAMES.session, "Client session duration (OpenTelemetry mcp.server.session.duration)", SESSION_ATTRS);
  return {
    server: (s, a) => server.observe(labelsOf(a, SERVER_ATTRS), s),
    client: (s, a) => client.observe(labelsOf(a, CLIENT_ATTRS), s),
    session: (s, a) => session.observe(labelsOf(a, SESSION_ATTRS), s),
  };
}
