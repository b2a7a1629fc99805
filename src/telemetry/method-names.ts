/**
 * The MCP method names a client sends, as shared strings. A method read from a client's JSON is a fresh string
 * per message; the client tracker keeps it in each client's trace, so an idle session would hold its own copy of
 * "notifications/initialized" (48 bytes) for its lifetime (ADR 0200). One Map lookup, on inbound messages only.
 */
const NAMES = new Map<string, string>(
  [
    "initialize",
    "notifications/initialized",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "roots/list",
    "sampling/createMessage",
    "elicitation/create",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/roots/list_changed",
    "notifications/gateway/ack",
    "subscriptions/listen",
    "server/discover",
  ].map((m) => [m, m]),
);

/** The shared copy of a well-known method name, or undefined for any other. */
export function sharedMethodName(method: string): string | undefined {
  return NAMES.get(method);
}
