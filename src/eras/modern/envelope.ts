/**
 * The modern request envelope (SEP-2575, SEP-2243): `_meta` with protocol
 * version, client capabilities and info on every request, and the standard
 * headers that must agree with the body. Checked in the revision's order:
 * a malformed envelope is -32602, a header that disagrees is -32020, an
 * unsupported version is -32022.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { JsonRpcRequest } from "../../protocol/jsonrpc.js";
import { ALL_PROTOCOL_VERSIONS, META, TRACE_META_KEYS, isModernVersion } from "../../protocol/era.js";
import { GatewayError } from "../../errors/index.js";
import { ModernError } from "./errors.js";

/** Log levels, least severe first (RFC 5424 names). */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;

/** What a modern request says about its caller. */
export interface Envelope {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
  /** Per-request log level; absent: the client wants no log notifications. */
  logLevel?: string;
  /** traceparent / tracestate / baggage, passed on to the upstream. */
  trace: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The header value a request names (`Mcp-Name`), from the body. */
export function nameOf(request: JsonRpcRequest): string | undefined {
  const p = request.params ?? {};
  switch (request.method) {
    case "tools/call":
    case "prompts/get":
      return typeof p.name === "string" ? p.name : undefined;
    case "resources/read":
      return typeof p.uri === "string" ? p.uri : undefined;
    case "tasks/get":
    case "tasks/update":
    case "tasks/cancel":
      return typeof p.taskId === "string" ? p.taskId : undefined;
    default:
      return undefined;
  }
}

const B64_PREFIX = "=?base64?";
const B64_SUFFIX = "?=";

/** Canonical Base64 (RFC 4648 §4, padded): anything else inside the sentinel is refused, not guessed. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * SEP-2243: values unsafe in a header travel as `=?base64?<utf-8 base64>?=`;
 * a value without both halves of the sentinel is literal. Undefined for a
 * sentinel whose content is not canonical padded Base64 (or not UTF-8):
 * the caller refuses it as a header mismatch.
 */
export function decodeHeaderValue(v: string): string | undefined {
  if (v.startsWith(B64_PREFIX) && v.endsWith(B64_SUFFIX) && v.length >= B64_PREFIX.length + B64_SUFFIX.length) {
    const inner = v.slice(B64_PREFIX.length, v.length - B64_SUFFIX.length);
    if (!BASE64.test(inner)) return undefined;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(inner, "base64"));
    } catch {
      return undefined;
    }
  }
  return v;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v.trim() : undefined;
}

/**
 * Reads and checks the envelope of a modern request. Throws a GatewayError
 * for the client (already in the revision's terms).
 */
export function readEnvelope(request: JsonRpcRequest, headers: IncomingHttpHeaders): Envelope {
  const params = request.params;
  if (params !== undefined && !isObject(params)) throw new GatewayError("invalid_params", { detail: "params must be an object" });
  const meta = params?._meta;
  if (!isObject(meta)) throw new GatewayError("invalid_params", { detail: "_meta is required on every request of protocol 2026-07-28" });
  const version = meta[META.protocolVersion];
  if (typeof version !== "string" || version === "") throw new GatewayError("invalid_params", { detail: `_meta["${META.protocolVersion}"] is required` });
  const caps = meta[META.clientCapabilities];
  if (!isObject(caps)) throw new GatewayError("invalid_params", { detail: `_meta["${META.clientCapabilities}"] is required (an object)` });
  const info = meta[META.clientInfo];
  if (info !== undefined && !(isObject(info) && typeof info.name === "string")) throw new GatewayError("invalid_params", { detail: `_meta["${META.clientInfo}"] must be {name, version}` });
  const logLevel = meta[META.logLevel];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(logLevel)) throw new GatewayError("invalid_params", { detail: `unknown log level ${String(logLevel)}` });

  // SEP-2243: the standard headers mirror the body; the body decides, a disagreement is refused.
  const hVersion = header(headers, "mcp-protocol-version");
  if (hVersion !== version) throw new GatewayError("header_mismatch", { detail: `MCP-Protocol-Version ${hVersion === undefined ? "is missing" : `"${hVersion}"`} but _meta says "${version}"` });
  const hMethod = header(headers, "mcp-method");
  if (hMethod !== request.method) throw new GatewayError("header_mismatch", { detail: hMethod === undefined ? "Mcp-Method is missing" : `Mcp-Method "${hMethod}" but the body's method is "${request.method}"` });
  const name = nameOf(request);
  const rawName = header(headers, "mcp-name");
  const hName = rawName === undefined ? undefined : decodeHeaderValue(rawName);
  if (rawName !== undefined && hName === undefined) throw new GatewayError("header_mismatch", { detail: "Mcp-Name carries an invalid Base64 sentinel value" });
  if (name !== undefined && hName !== name) throw new GatewayError("header_mismatch", { detail: hName === undefined ? "Mcp-Name is missing" : `Mcp-Name "${hName}" but the body names "${name}"` });

  if (!isModernVersion(version)) {
    throw new ModernError("unsupported_version", { requested: version }, { supported: [...ALL_PROTOCOL_VERSIONS], requested: version });
  }
  const trace: Record<string, string> = {};
  for (const k of TRACE_META_KEYS) if (typeof meta[k] === "string") trace[k] = meta[k] as string;
  return {
    protocolVersion: version,
    clientCapabilities: caps,
    clientInfo: info as Envelope["clientInfo"],
    logLevel: logLevel as string | undefined,
    trace,
  };
}
