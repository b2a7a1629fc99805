/**
 * Errors on the modern wire: the catalogue's codes, rendered the way the
 * 2026-07-28 revision reads them, with the structured `data` some of them
 * need (-32021 `requiredCapabilities`, -32022 `supported`/`requested`).
 */
import { CATALOGUE, GatewayError, toJsonRpcError, type ErrorCode, type ErrorDetails } from "../../errors/index.js";
import type { JsonRpcErrorResponse, JsonRpcId } from "../../protocol/jsonrpc.js";

/** A catalogue error plus structured data the modern wire shows in `error.data`. */
export class ModernError extends GatewayError {
  constructor(code: ErrorCode, details: ErrorDetails, readonly data: Record<string, unknown> = {}) {
    super(code, details);
  }
}

/** -32021: the request needs client capabilities the caller did not declare. */
export function missingCapability(required: Record<string, object>): ModernError {
  return new ModernError("missing_client_capability", { capability: Object.keys(required).join(", ") }, { requiredCapabilities: required });
}

/** Legacy catalogue entries whose numbers the revision gave another meaning (-32020..-32022). */
const COLLIDING: ReadonlySet<ErrorCode> = new Set(["too_many_connections", "request_timeout", "shutting_down"]);

/** What a modern client sees for an error: the revision's code, the request's id, HTTP status. */
export function toModernWire(err: GatewayError, id: JsonRpcId | null): { status: number; body: JsonRpcErrorResponse } {
  const body = toJsonRpcError(err, id);
  // SEP-2164: an unknown resource is Invalid Params (with the URI in data) on this revision.
  if (err.code === "resource_not_found") body.error.code = -32602;
  else if (COLLIDING.has(err.code)) body.error.code = -32000;
  if (err instanceof ModernError) body.error.data = { ...(body.error.data as object), ...err.data };
  return { status: CATALOGUE[err.code].http, body };
}
