/**
 * The two eras of MCP and the one place that tells them apart.
 *
 * Legacy: 2024-11-05 .. 2025-11-25, an `initialize` handshake and a session.
 * Modern: 2026-07-28 and later, self-contained requests whose `_meta` carries
 * the protocol version, the client's capabilities and its info.
 *
 * A request is classified once, at the edge (the listener), and everything
 * behind it reads `CallerContext.era` instead of looking at headers again.
 */
import type { JsonRpcMessage } from "./jsonrpc.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "./jsonrpc.js";

/** Which wire a request speaks. */
export type Era = "legacy" | "modern";

/** Modern revisions the gateway serves, newest first. */
export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"] as const;

/** Every revision the gateway serves (both eras), newest first: what `server/discover` and -32022 list. */
export const ALL_PROTOCOL_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

/** `_meta` keys of the modern request envelope (SEP-2575) and result `_meta`. */
export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
  relatedTask: "io.modelcontextprotocol/related-task",
} as const;

/** Trace-context `_meta` keys (SEP-414) the gateway passes on untouched. */
export const TRACE_META_KEYS = ["traceparent", "tracestate", "baggage"] as const;

/** True for a revision of the modern era (revision ids are ISO dates, so they compare as strings). */
export function isModernVersion(version: string): boolean {
  return (MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(version);
}

/** True for a legacy revision the gateway serves. */
export function isLegacyVersion(version: string): boolean {
  return (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version);
}

/** What the HTTP edge knows before reading the body. */
export interface EdgeHeaders {
  /** `MCP-Protocol-Version`, if sent. */
  protocolVersion?: string;
  /** `Mcp-Session-Id`, if sent. */
  sessionId?: string;
}

/**
 * Classifies an HTTP request from its headers alone (GET and DELETE have no
 * body; POSTs are classified again from the body by `classifyMessage`).
 *
 * - a modern `MCP-Protocol-Version`: modern (a stray session header is ignored);
 * - a legacy version, or a session id with an unknown version: legacy (the
 *   legacy rules answer an unknown version with -32012);
 * - an unknown version and no session: modern, so the client gets -32022 with
 *   the supported list and can negotiate;
 * - no version header: legacy (pre-2025-06 clients send none), unless the body says otherwise.
 */
export function classifyHeaders(h: EdgeHeaders): Era {
  const v = h.protocolVersion;
  if (v === undefined || v === "") return "legacy";
  if (isModernVersion(v)) return "modern";
  if (isLegacyVersion(v) || h.sessionId) return "legacy";
  return "modern";
}

/** The modern `_meta` protocol version of a message, if it carries one. */
export function metaProtocolVersion(message: JsonRpcMessage): unknown {
  const params = (message as { params?: { _meta?: Record<string, unknown> } }).params;
  const meta = params && typeof params === "object" ? params._meta : undefined;
  return meta && typeof meta === "object" ? meta[META.protocolVersion] : undefined;
}

/**
 * Classifies a parsed message that arrived without a modern version header:
 * a request whose `_meta` names a protocol version is modern (the modern
 * exchange then answers the missing/mismatched header with -32020); so are
 * the modern-only methods; everything else is legacy.
 */
export function classifyMessage(message: JsonRpcMessage, h: EdgeHeaders): Era {
  if (h.sessionId) return "legacy";
  if (metaProtocolVersion(message) !== undefined) return "modern";
  const method = (message as { method?: unknown }).method;
  return method === "server/discover" || method === "subscriptions/listen" ? "modern" : "legacy";
}
