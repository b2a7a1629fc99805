import type { IncomingMessage } from "node:http";

/** W3C Trace Context an HTTP POST carried in its headers, for the one message of its body. */
export interface HttpTraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * The HTTP-level trace context of a message, keyed by the parsed message
 * object (the listener's own copy). The MCP parent is `params._meta`
 * (SEP-414); the headers are the fallback for clients whose HTTP layer is
 * instrumented but whose MCP layer is not. Read only by the OpenTelemetry
 * layer (src/telemetry/otel/); nothing is stored for a POST without the header.
 */
export const httpTraceContext = new WeakMap<object, HttpTraceContext>();

/** Set once a gateway in this process turns OpenTelemetry on; until then nothing is looked up or stored. */
let wanted = false;

/** Called by the OpenTelemetry layer when it is on (src/telemetry/otel/install.ts). */
export function wantHttpTraceContext(): void {
  wanted = true;
}

/** Notes the POST's `traceparent`/`tracestate` for its message; a no-op while OpenTelemetry is off. */
export function noteHttpTraceContext(req: IncomingMessage, message: unknown): void {
  if (!wanted) return;
  const traceparent = req.headers.traceparent;
  if (typeof traceparent !== "string" || message === null || typeof message !== "object") return;
  const tracestate = req.headers.tracestate;
  httpTraceContext.set(message, { traceparent, tracestate: typeof tracestate === "string" ? tracestate : undefined });
}
