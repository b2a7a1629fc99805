import type { JsonRpcMessage } from "../../protocol/jsonrpc.js";

const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";

/** The body field `Mcp-Name` mirrors, per method (SEP-2243; tasks from SEP-2663). */
const NAME_SOURCE: Record<string, string> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

/**
 * True when a header value must travel Base64-wrapped (`=?base64?...?=`):
 * anything outside visible ASCII plus interior space/tab, surrounding
 * whitespace, an empty value, or a value that already looks wrapped.
 */
function needsBase64(s: string): boolean {
  if (s.length === 0 || s !== s.trim()) return true;
  if (s.startsWith("=?base64?") && s.endsWith("?=")) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x09 && (c < 0x20 || c > 0x7e)) return true;
  }
  return false;
}

/** Encodes one header value the way SEP-2243 requires for unsafe values. */
export function encodeHeaderValue(value: string): string {
  return needsBase64(value) ? `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=` : value;
}

/**
 * Headers that go with one message beside the standard ones (`Mcp-Param-*`
 * mirrored tool arguments), keyed by the message object the connection
 * sends. Set by the modern adapter (and by the modern edge for a modern
 * client's own `Mcp-Param-*`); read once when the message is POSTed.
 */
export const extraHeaders = new WeakMap<object, Record<string, string>>();

/**
 * The standard headers of a 2026-07-28 request (SEP-2243), derived from the
 * body so they can never disagree with it: `MCP-Protocol-Version` from the
 * envelope, `Mcp-Method`, and `Mcp-Name` where the method has one. Undefined
 * for a message without the envelope claim (legacy traffic keeps the
 * session headers).
 */
export function modernHeaders(message: JsonRpcMessage): Record<string, string> | undefined {
  const m = message as { method?: unknown; params?: Record<string, unknown> };
  if (typeof m.method !== "string") return undefined;
  const version = (m.params?._meta as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_KEY];
  if (typeof version !== "string") return undefined;
  // The standard headers are written last: derived from the body, they always win.
  const headers: Record<string, string> = { ...extraHeaders.get(message), "mcp-protocol-version": version, "mcp-method": m.method };
  const field = NAME_SOURCE[m.method];
  const name = field !== undefined ? m.params?.[field] : undefined;
  if (typeof name === "string") headers["mcp-name"] = encodeHeaderValue(name);
  return headers;
}
