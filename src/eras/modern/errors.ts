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

/** The JSON-RPC codes MCP 2026-07-28 fixes (-32020 header mismatch, -32021 missing capability, -32022 unsupported version). */
export const REVISION_CODES: ReadonlySet<number> = new Set([-32020, -32021, -32022]);

/**
 * An upstream's error on its way to a modern client. The revision's codes
 * keep their meaning only where it is the client's: a modern upstream's
 * -32021 names capabilities the client declared (forwarded in `_meta`). A
 * modern upstream's -32020/-32022 are about the gateway's own hop (its
 * headers, its version), and a legacy upstream's -32020..-32022 are its own
 * server-defined codes: shown as `upstream_error`, the original code kept in
 * `data.upstream_code`, so a modern client never misreads them.
 */
export function relayedErrorForModern(response: JsonRpcErrorResponse, upstream: string, upstreamEra: "legacy" | "modern" | undefined): JsonRpcErrorResponse {
  const { code, message, data } = response.error;
  if (!REVISION_CODES.has(code) || (upstreamEra === "modern" && code === -32021)) return response;
  const err = new GatewayError("upstream_error", { upstream: upstream || "unknown", reason: message });
  const body = toJsonRpcError(err, response.id);
  body.error.data = { ...(body.error.data as object), upstream_code: code, ...(data !== undefined ? { upstream_data: data } : {}) };
  return body;
}

/** What a modern client sees for an error: the revision's code, the request's id, HTTP status. */
export function toModernWire(err: GatewayError, id: JsonRpcId | null): { status: number; body: JsonRpcErrorResponse } {
  const body = toJsonRpcError(err, id);
  // SEP-2164: an unknown resource is Invalid Params (with the URI in data) on this revision.
  if (err.code === "resource_not_found") body.error.code = -32602;
  if (err instanceof ModernError) body.error.data = { ...(body.error.data as object), ...err.data };
  return { status: CATALOGUE[err.code].http, body };
}
