import { CATALOGUE, type ErrorCode } from "./catalogue.js";
import { truncate } from "./truncate.js";
import type { JsonRpcErrorResponse, JsonRpcId } from "../protocol/jsonrpc.js";

/** Details that fill a message template and travel in the error's `data`. */
export type ErrorDetails = Record<string, string | number | boolean | null | undefined>;

/**
 * A failure raised inside the gateway. It carries a catalogue code; `toWire`
 * decides what each transport shows, so handlers never hand-build error bodies.
 */
export class GatewayError extends Error {
  override name = "GatewayError";
  readonly details: ErrorDetails;
  constructor(readonly code: ErrorCode, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    // Details often echo client input (a method name, a tool name): cut long ones, since errors are sent, logged and kept in traces.
    const capped = capDetails(details);
    super(render(code, capped), options);
    this.details = capped;
  }

  /** HTTP status for this error. */
  get status(): number {
    return CATALOGUE[this.code].http;
  }

  /** WebSocket close code for this error. */
  get closeCode(): number {
    return CATALOGUE[this.code].close;
  }
}

function capDetails(details: ErrorDetails): ErrorDetails {
  let out: ErrorDetails | undefined;
  for (const [k, v] of Object.entries(details)) {
    if (typeof v === "string" && v.length > 200) (out ??= { ...details })[k] = truncate(v, 200);
  }
  return out ?? details;
}

function render(code: ErrorCode, details: ErrorDetails): string {
  return CATALOGUE[code].message.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = details[key];
    return v === undefined || v === null ? "?" : String(v);
  });
}

/** Turns anything thrown into a GatewayError (unknown errors become internal_error). */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError("internal_error", {}, { cause: err });
}

/** The JSON body the HTTP transports send for an error (the guide's shape). */
export function toHttpBody(err: GatewayError): Record<string, unknown> {
  return { error: err.code, message: err.message, ...dataOf(err) };
}

/** `data` of a JSON-RPC error: the catalogue code plus the details (e.g. retry_after). */
function dataOf(err: GatewayError): Record<string, unknown> {
  const data: Record<string, unknown> = { error: err.code };
  for (const [k, v] of Object.entries(err.details)) if (v !== undefined) data[k] = v;
  return data;
}

/** A JSON-RPC error response for the given request id. */
export function toJsonRpcError(err: GatewayError, id: JsonRpcId | null): JsonRpcErrorResponse {
  return { jsonrpc: "2.0", id, error: { code: CATALOGUE[err.code].jsonrpc, message: err.message, data: dataOf(err) } };
}

/** A WebSocket close: code plus a reason that fits the 123-byte limit. */
export function toClose(err: GatewayError): { code: number; reason: string } {
  const reason = JSON.stringify({ error: err.code, ...(err.details.reason ? { reason: err.details.reason } : {}) });
  return { code: err.closeCode, reason: Buffer.byteLength(reason) <= 123 ? reason : err.code };
}
