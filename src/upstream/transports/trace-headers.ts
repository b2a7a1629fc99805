import type { JsonRpcMessage } from "../../protocol/jsonrpc.js";

/**
 * W3C Trace Context headers mirroring a request's `params._meta`
 * (`traceparent`, `tracestate`): the MCP context travels in `_meta`, and HTTP
 * instrumentation on the upstream's side sees the same parent in the headers.
 * Undefined (no copy, nothing added) when the request carries none.
 */
export function traceHeaders(message: JsonRpcMessage): Record<string, string> | undefined {
  const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  const traceparent = meta?.traceparent;
  if (typeof traceparent !== "string" || !/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(traceparent)) return undefined;
  const headers: Record<string, string> = { traceparent };
  const tracestate = meta!.tracestate;
  // Header values must stay on one line: anything else is not forwarded as a header.
  if (typeof tracestate === "string" && tracestate.length <= 512 && !/[\r\n]/.test(tracestate)) headers.tracestate = tracestate;
  return headers;
}

/** `headers` plus the trace headers, or `headers` itself when there are none. */
export function withTraceHeaders(headers: Record<string, string>, trace: Record<string, string> | undefined): Record<string, string> {
  return trace === undefined ? headers : { ...headers, ...trace };
}
