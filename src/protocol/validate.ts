import { GatewayError } from "../errors/index.js";
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.js";

/**
 * The edge check every client message passes before it is dispatched: the
 * JSON-RPC envelope (an object, `jsonrpc: "2.0"`, a string `method`, an id
 * that is a string or an integer) and the nesting-depth limit. Listeners run
 * it right after parsing, so a malformed message is answered on the
 * connection it came on (a Streamable HTTP POST gets its own answer, never a
 * hang) and nothing behind the edge ever sees `null`, `123` or a 6,000-level
 * object: such input is the client's mistake and must never surface as a
 * gateway failure that trips a breaker.
 */

/** The outcome of `checkMessage`: the message, or the error to answer with under `id`. */
export type MessageCheck = { ok: true; message: JsonRpcMessage } | { ok: false; error: GatewayError; id: JsonRpcId | null };

/**
 * True for an id MCP allows on a request: a string or an integer (MCP
 * 2025-06-18 "Requests MUST include a string or integer ID"; null is not one).
 */
export function isValidRequestId(id: unknown): id is JsonRpcId {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

/**
 * A key naming a request id by JSON type and value, so `1` and `"1"` never
 * collide (`1` vs `"1"`). Streamable HTTP uses it as the stream name of a
 * POST's answer; it can never equal the standalone stream's name `get`.
 */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? String(id) : JSON.stringify(id);
}

/**
 * Checks one parsed client message (see the module comment). `maxDepth` is
 * `server.max_json_depth`: the most levels of nested objects/arrays, the
 * message itself being level 1.
 */
export function checkMessage(message: unknown, maxDepth: number): MessageCheck {
  if (Array.isArray(message)) return fail(new GatewayError("batch_not_supported"), null);
  if (typeof message !== "object" || message === null) return fail(new GatewayError("invalid_request", { detail: "a message must be a JSON-RPC object" }), null);
  const m = message as { jsonrpc?: unknown; id?: unknown; method?: unknown; result?: unknown; error?: unknown };
  const hasId = Object.prototype.hasOwnProperty.call(m, "id");
  const id = hasId && isValidRequestId(m.id) ? m.id : null;
  if (m.jsonrpc !== "2.0") return fail(new GatewayError("invalid_request", { detail: 'jsonrpc must be "2.0"' }), id);
  if (m.method !== undefined) {
    if (typeof m.method !== "string") return fail(new GatewayError("invalid_request", { detail: "method must be a string" }), id);
    // A notification has no id at all; `"id": null` (or an object, array, boolean) makes it an invalid request.
    if (hasId && !isValidRequestId(m.id)) return fail(new GatewayError("invalid_request", { detail: "id must be a string or an integer" }), null);
  } else if (!("result" in m) && !("error" in m)) {
    return fail(new GatewayError("invalid_request", { detail: "neither a request, a notification nor a response" }), id);
  } else if (!isValidRequestId(m.id) && !(m.id === null && "error" in m)) {
    // A response answers one of our requests by its id; only an error may carry null (it could not read ours).
    return fail(new GatewayError("invalid_request", { detail: "response id must be a string or an integer" }), null);
  }
  if (depthExceeds(message, maxDepth)) return fail(new GatewayError("nesting_too_deep", { limit: maxDepth }), id);
  return { ok: true, message: message as JsonRpcMessage };
}

function fail(error: GatewayError, id: JsonRpcId | null): MessageCheck {
  return { ok: false, error, id };
}

/**
 * True when `value` nests objects/arrays deeper than `max` levels. Iterative
 * (an explicit stack), so a hostile depth cannot exhaust the call stack of
 * the check meant to refuse it; stops at the first path past the limit.
 */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: Array<{ v: unknown; d: number }> = [{ v: value, d: 1 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d > max) return true;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === "object" && item !== null) stack.push({ v: item, d: d + 1 });
    } else {
      for (const key in v) {
        const item = (v as Record<string, unknown>)[key];
        if (typeof item === "object" && item !== null) stack.push({ v: item, d: d + 1 });
      }
    }
  }
  return false;
}
