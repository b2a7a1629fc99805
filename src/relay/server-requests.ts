import type { JsonRpcRequest } from "../protocol/jsonrpc.js";
import type { MessageExtra } from "../protocol/transport.js";
import type { CallerContext } from "../protocol/caller-context.js";
import type { UpstreamConnection, PendingCall } from "../upstream/connection.js";

/** The client capability a server->client request needs. */
const NEEDED_CAPABILITY: Record<string, string> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/**
 * Finds the one client a server->client request belongs to.
 * Exact when the upstream says which request it relates to (Streamable HTTP
 * sends it on that POST's stream). Otherwise (stdio, WebSocket) it is the
 * client with a call in flight on that connection that can answer it; with
 * several, the most recent call wins (see docs/adr/0003-shared-upstream-sessions.md).
 * Either way a client is asked only what it declared it can answer.
 */
export function attributeServerRequest(
  request: JsonRpcRequest,
  extra: MessageExtra | undefined,
  connection: UpstreamConnection,
  owner?: CallerContext,
): { session: CallerContext; call?: PendingCall } | undefined {
  const capability = NEEDED_CAPABILITY[request.method];
  // A per_client session belongs to one client: everything it asks is that client's.
  if (owner) {
    if (owner.closed || (capability && !owner.clientCapabilities[capability])) return undefined;
    const call = extra?.relatedRequestId !== undefined ? connection.findCall(extra.relatedRequestId) : undefined;
    return { session: owner, call: call?.owner === owner ? call : undefined };
  }
  if (extra?.relatedRequestId !== undefined) {
    const call = connection.findCall(extra.relatedRequestId);
    if (call?.owner) {
      // The caller is known exactly; a client that did not declare the capability is never asked.
      const session = call.owner as CallerContext;
      return capability && !session.clientCapabilities[capability] ? undefined : { session, call };
    }
  }
  let best: PendingCall | undefined;
  for (const call of connection.pendingCalls()) {
    const session = call.owner as CallerContext | undefined;
    if (!session || session.closed) continue;
    // A modern caller is always attributable: the MRTR bridge answers a missing capability with -32021.
    if (capability && !session.clientCapabilities[capability] && session.era !== "modern") continue;
    if (!best || call.startedAt >= best.startedAt) best = call;
  }
  return best ? { session: best.owner as CallerContext, call: best } : undefined;
}
