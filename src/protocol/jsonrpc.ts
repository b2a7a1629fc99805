/**
 * JSON-RPC 2.0 message shapes as the gateway sees them on the wire.
 *
 * These are deliberately loose structural types, not zod schemas: the relay
 * parses each message once with JSON.parse and classifies it with the cheap
 * guards below, so nothing on the hot path allocates a validator.
 */

/** A JSON-RPC request or response id. */
export type JsonRpcId = string | number;

/** A request: has an id and a method. */
export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

/** A notification: a method and no id. */
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}

/** A successful response. */
export interface JsonRpcResult {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: Record<string, unknown>;
}

/** The error object of an error response. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** An error response; `id` is null when the request could not be read. */
export interface JsonRpcErrorResponse {
  jsonrpc: "2.0";
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

/** A response of either kind. */
export type JsonRpcResponse = JsonRpcResult | JsonRpcErrorResponse;

/** Any single JSON-RPC message. */
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/** Standard JSON-RPC error codes. */
export const JSONRPC_PARSE_ERROR = -32700;
export const JSONRPC_INVALID_REQUEST = -32600;
export const JSONRPC_METHOD_NOT_FOUND = -32601;
export const JSONRPC_INVALID_PARAMS = -32602;
export const JSONRPC_INTERNAL_ERROR = -32603;

/** True for a request (id and method). */
export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return (m as JsonRpcRequest).method !== undefined && (m as JsonRpcRequest).id !== undefined;
}

/** True for a notification (method, no id). */
export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return (m as JsonRpcRequest).method !== undefined && (m as JsonRpcRequest).id === undefined;
}

/** True for a response (id, no method). */
export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return (m as JsonRpcRequest).method === undefined;
}

/** True for an error response. */
export function isErrorResponse(m: JsonRpcMessage): m is JsonRpcErrorResponse {
  return (m as JsonRpcErrorResponse).error !== undefined && (m as JsonRpcRequest).method === undefined;
}

/** Protocol revisions the gateway accepts from clients, newest first. */
export const SUPPORTED_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const;
/** The revision the gateway speaks by default. */
export const LATEST_PROTOCOL_VERSION = "2025-11-25";
/** Assumed when a Streamable HTTP client sends no MCP-Protocol-Version header. */
export const DEFAULT_NEGOTIATED_PROTOCOL_VERSION = "2025-03-26";
