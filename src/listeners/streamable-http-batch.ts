/**
 * JSON-RPC batches on the Streamable HTTP listener. MCP 2025-03-26 (and
 * 2024-11-05) let a client POST an array of messages; 2025-06-18 removed
 * batching. A batch is split here into the messages the normal per-message
 * path relays, plus the error answers for elements refused at the edge (each
 * element is judged on its own, as JSON-RPC 2.0 wants).
 */
import type { JsonRpcErrorResponse, JsonRpcId, JsonRpcMessage } from "../protocol/jsonrpc.js";
import { GatewayError, toJsonRpcError } from "../errors/index.js";
import { checkMessage, idKey } from "../protocol/validate.js";

/** Protocol versions whose sessions may send batches (batching was removed in 2025-06-18). */
export const BATCH_PROTOCOL_VERSIONS: readonly string[] = ["2025-03-26", "2024-11-05"];

/** What a batch splits into. */
export interface BatchPlan {
  /** Requests to relay; their answers go back in the batch's reply. */
  requests: { id: JsonRpcId; message: JsonRpcMessage }[];
  /** Notifications and responses to relay; nothing is answered for them. */
  others: JsonRpcMessage[];
  /** Elements refused at the edge, already answered. */
  errors: JsonRpcErrorResponse[];
}

/**
 * Splits a batch. `inFlight` says whether a request id is already taken in
 * the session (an open POST or a relayed call): such an element, or a second
 * element with the same id, is refused on its own. `initialize` must not be
 * part of a batch (2025-03-26, lifecycle).
 */
export function planBatch(batch: readonly unknown[], maxDepth: number, inFlight: (id: JsonRpcId) => boolean): BatchPlan {
  const plan: BatchPlan = { requests: [], others: [], errors: [] };
  const seen = new Set<string>();
  for (const element of batch) {
    const check = checkMessage(element, maxDepth);
    if (!check.ok) {
      plan.errors.push(toJsonRpcError(check.error, check.id));
      continue;
    }
    const m = element as { id?: JsonRpcId; method?: string };
    if (m.method === undefined || m.id === undefined) {
      plan.others.push(element as JsonRpcMessage);
      continue;
    }
    if (m.method === "initialize") {
      plan.errors.push(toJsonRpcError(new GatewayError("invalid_request", { detail: "initialize must not be part of a batch" }), m.id));
      continue;
    }
    const key = idKey(m.id);
    if (seen.has(key) || inFlight(m.id)) {
      plan.errors.push(toJsonRpcError(new GatewayError("duplicate_request_id", { id: JSON.stringify(m.id) }), m.id));
      continue;
    }
    seen.add(key);
    plan.requests.push({ id: m.id, message: element as JsonRpcMessage });
  }
  return plan;
}
