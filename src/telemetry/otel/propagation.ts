import { ROOT_CONTEXT, trace, type Context, type Span, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { httpTraceContext } from "../../protocol/trace-context.js";

/**
 * W3C Trace Context in MCP `params._meta` (SEP-414: unprefixed `traceparent`
 * and `tracestate`). The propagator is used directly, not through the global
 * API: several gateways may share a process (tests), each with its own
 * tracer provider, and none of them should change process-wide state.
 */
const propagator = new W3CTraceContextPropagator();

type Carrier = Record<string, unknown>;

const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    return typeof v === "string" ? v : undefined;
  },
};

const setter: TextMapSetter<Carrier> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * The remote parent of a client's request: `params._meta` first (the MCP
 * context, SEP-414), else the `traceparent` header of the HTTP POST that
 * carried it; the root context when neither has a valid one.
 */
export function extractParent(message: object, meta: unknown): Context {
  if (meta !== null && typeof meta === "object" && typeof (meta as Carrier).traceparent === "string") {
    return propagator.extract(ROOT_CONTEXT, meta as Carrier, getter);
  }
  const http = httpTraceContext.get(message);
  return http === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, http as unknown as Carrier, getter);
}

/** A context whose current span is `span` (the parent of spans started under it). */
export function contextWith(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/**
 * Writes `span`'s context into the request's `_meta` (created when absent),
 * replacing whatever `traceparent`/`tracestate` the client sent: the upstream's
 * parent is the gateway's CLIENT span now.
 */
export function injectInto(params: Record<string, unknown>, span: Span): void {
  let meta = params._meta as Carrier | undefined;
  if (meta === null || typeof meta !== "object") params._meta = meta = {};
  delete meta.tracestate;
  propagator.inject(contextWith(span), meta, setter);
}
