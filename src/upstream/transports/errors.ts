import type { Dispatcher } from "undici";
import { GatewayError, toJsonRpcError } from "../../errors/index.js";
import type { JsonRpcErrorResponse, JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";

/**
 * Errors and small helpers shared by the upstream transports (Streamable
 * HTTP, legacy SSE, WebSocket): how a failure is named, how it becomes the
 * JSON-RPC error response that stands in for a lost reply, and the bits of
 * option and message handling that are the same on every wire.
 */

/**
 * Why an upstream transport failed (`UpstreamTransportError.code`):
 * - `session_expired`: the upstream answered 404 to our session id; re-initialize.
 * - `upstream_unavailable`: the upstream could not be reached or the connection broke.
 * - `upstream_error`: the upstream answered a non-2xx status or sent something that is not MCP.
 */
export type UpstreamErrorCode = "session_expired" | "upstream_unavailable" | "upstream_error";

/** The error the upstream transports hand to `onerror` (and reject `start()` with). */
export class UpstreamTransportError extends Error {
  override name = "UpstreamTransportError";
  /** Machine-readable reason, see {@link UpstreamErrorCode}. */
  readonly code: UpstreamErrorCode;
  /** The HTTP status, when the failure was an HTTP answer. */
  readonly status?: number;
  /** The upstream's own JSON-RPC error code, when its error body carried one. */
  readonly upstreamCode?: number;

  constructor(code: UpstreamErrorCode, message: string, options?: { status?: number; upstreamCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.status !== undefined) this.status = options.status;
    if (options?.upstreamCode !== undefined) this.upstreamCode = options.upstreamCode;
  }
}

/**
 * Builds the JSON-RPC error response an upstream transport delivers through
 * `onmessage` in place of a reply that will never come, in the catalogue's
 * terms: `upstream_unavailable` (-32016) for unreachable/broken/expired, or
 * `upstream_error` (-32018) for HTTP and protocol failures. `data` carries
 * `error`, `upstream`, `reason` (`"session_expired"` for an expired session),
 * and `status` / `upstream_code` when known. The upstream's own code is never
 * used as ours: its -32001 would read as the gateway's `pool_timeout`.
 */
export function upstreamErrorResponse(id: JsonRpcId, err: UpstreamTransportError, upstream: string): JsonRpcErrorResponse {
  const code = err.code === "upstream_error" ? "upstream_error" : "upstream_unavailable";
  const reason = err.code === "session_expired" ? "session_expired" : err.message;
  return toJsonRpcError(
    new GatewayError(code, { upstream, reason, status: err.status, upstream_code: err.upstreamCode }),
    id,
  );
}

/** A label for an upstream URL: no query string (it may hold credentials), no userinfo. */
export function upstreamLabel(url: URL): string {
  return url.origin + url.pathname;
}

/** `TextDecoder.decode` options for a body read chunk by chunk (one shared object, not one per chunk). */
export const STREAM_DECODE = { stream: true } as const;
/** How much of an error answer's body is read for its JSON-RPC error message. */
export const ERROR_BODY_LIMIT = 64 * 1024;

/** First value of a response header (undici gives arrays for repeated headers). */
export function header(headers: Dispatcher.ResponseData["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Lower-cases header names so ours never duplicate the caller's in another case. */
export function lowerKeys(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const k of Object.keys(h)) out[k.toLowerCase()] = h[k]!;
  return out;
}

/**
 * Turns a non-2xx answer into an {@link UpstreamTransportError}, reading at
 * most 64 KiB of its body to pick up the upstream's JSON-RPC error message and
 * code (an HTML error page just leaves the status).
 */
export async function httpStatusError(res: Dispatcher.ResponseData, what: string): Promise<UpstreamTransportError> {
  const status = res.statusCode;
  let text = "";
  try {
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      text += decoder.decode(chunk as Uint8Array, STREAM_DECODE);
      if (text.length >= ERROR_BODY_LIMIT) {
        res.body.destroy();
        break;
      }
    }
  } catch {
    // The status alone says enough.
  }
  return statusError(status, text, what);
}

/** The {@link UpstreamTransportError} for a non-2xx answer whose (first 64 KiB of) body is `text`. */
export function statusError(status: number, text: string, what: string): UpstreamTransportError {
  let message = `${what} answered HTTP ${status}`;
  let upstreamCode: number | undefined;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body?.error?.code === "number") upstreamCode = body.error.code;
    if (typeof body?.error?.message === "string") message = `${message}: ${body.error.message}`;
  } catch {
    // Not JSON.
  }
  return new UpstreamTransportError("upstream_error", message, { status, upstreamCode });
}

/**
 * Parses one message received from an upstream (a WebSocket frame or an SSE
 * `message` event) and checks it is a JSON-RPC 2.0 object. Invalid JSON or a
 * non-JSON-RPC value is reported through `onerror` (`upstream_error`) and
 * yields undefined; the caller drops it.
 */
export function parseUpstreamMessage(text: string, onerror: ((error: Error) => void) | undefined): JsonRpcMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    onerror?.(new UpstreamTransportError("upstream_error", "upstream sent invalid JSON", { cause: err }));
    return undefined;
  }
  const msg = parsed as { jsonrpc?: unknown };
  if (typeof msg !== "object" || msg === null || msg.jsonrpc !== "2.0") {
    onerror?.(new UpstreamTransportError("upstream_error", "upstream sent a non-JSON-RPC message"));
    return undefined;
  }
  return msg as JsonRpcMessage;
}
