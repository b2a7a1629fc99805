import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError, toHttpBody, toJsonRpcError } from "../errors/index.js";
import type { JsonRpcId, JsonRpcMessage } from "../protocol/jsonrpc.js";

/**
 * Reads a request body up to `limit` bytes. Past the limit the request is
 * refused with `message_too_large` (413) without buffering the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(new GatewayError("message_too_large", { size: declared, limit }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new GatewayError("message_too_large", { size, limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
    req.on("aborted", () => reject(new GatewayError("request_timeout")));
  });
}

/** Sends a JSON body with a status. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers });
  res.end(json);
}

/** Sends a catalogue error as the guide's JSON body (`{"error": code, ...}`). */
export function sendError(res: ServerResponse, err: GatewayError, headers: Record<string, string> = {}): void {
  const extra: Record<string, string> = { ...headers };
  if (err.details.retry_after !== undefined) extra["retry-after"] = String(err.details.retry_after);
  sendJson(res, err.status, toHttpBody(err), extra);
}

/**
 * Sends a catalogue error as a JSON-RPC error body with its HTTP status: MCP
 * clients read the JSON-RPC error, operators with curl read `data.error`.
 */
export function sendRpcError(res: ServerResponse, err: GatewayError, id: JsonRpcId | null = null, headers: Record<string, string> = {}): void {
  const extra: Record<string, string> = { ...headers };
  if (err.details.retry_after !== undefined) extra["retry-after"] = String(err.details.retry_after);
  sendJson(res, err.status, toJsonRpcError(err, id), extra);
}

/** Parsed query of a request URL (without allocating a URL object for the path). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  return new URLSearchParams(q === -1 ? "" : url.slice(q + 1));
}

/** The path of a request URL. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

/** True when the Accept header admits the media type (or says nothing). */
export function accepts(req: IncomingMessage, type: string): boolean {
  const accept = req.headers.accept;
  if (!accept) return true;
  return accept.includes(type) || accept.includes("*/*");
}

/**
 * Parses a POSTed body as one JSON-RPC message. Throws the catalogue error to
 * answer with: `parse_error` for invalid JSON, `batch_not_supported` for an
 * array. Nothing else is validated here (the relay only needs the envelope).
 */
export function parseJsonRpcBody(body: string): JsonRpcMessage {
  const message = parseJsonRpcPayload(body);
  if (Array.isArray(message)) throw new GatewayError("batch_not_supported");
  return message;
}

/**
 * Parses a POSTed body that may be a JSON-RPC batch (an array); throws
 * `parse_error` for invalid JSON. Whether a batch is allowed is the caller's
 * call (it depends on the session's protocol version).
 */
export function parseJsonRpcPayload(body: string): JsonRpcMessage | unknown[] {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new GatewayError("parse_error", { detail: (err as Error).message });
  }
}

/**
 * Reads a small JSON object body (admin and integrity endpoints): empty is
 * `{}`, bad JSON is `parse_error`, anything but an object `invalid_params`.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = await readBody(req, limit);
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GatewayError("parse_error", { detail: (err as Error).message });
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new GatewayError("invalid_params", { detail: "body must be a JSON object" });
  return parsed as Record<string, unknown>;
}

/**
 * The listener for errors a connection reports after it has been answered or handed over (the close that
 * follows does the cleanup). Shared: an inline `() => {}` would keep its whole enclosing scope (the request,
 * socket and head of an upgrade) alive for as long as the connection lives.
 */
export function ignoreError(): void {}
