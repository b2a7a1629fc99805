import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import type { GatewayError } from "../errors/index.js";
import type { Session } from "../session/session.js";
import type { ReplayGap } from "../session/continuity.js";

/**
 * The `mcp-gateway.v1` WebSocket envelope (docs/protocol.md): sequence
 * numbers, acknowledgements and gap reports around bare JSON-RPC, for
 * clients that resume. Frames are built by string concatenation around the
 * already-serialized JSON-RPC text, so enveloping costs no second
 * JSON.stringify of the message.
 */

/** Subprotocol of bare JSON-RPC frames (what the MCP SDK's WebSocket transports speak). */
export const WS_SUBPROTOCOL_BARE = "mcp";
/** Subprotocol of the gateway's envelope. */
export const WS_SUBPROTOCOL_ENVELOPE = "mcp-gateway.v1";

/** `{"type":"message","seq":N,"message":<json>}` */
export function messageFrame(seq: number, json: string): string {
  return `{"type":"message","seq":${seq},"message":${json}}`;
}

/** `{"type":"welcome",...}`: the first frame of every envelope connection. */
export function welcomeFrame(session: Session, resumed: boolean): string {
  return JSON.stringify({ type: "welcome", session_id: session.id, client_id: session.clientId, last_seq: session.lastSeq, resumed });
}

/** `{"type":"gap","from":A,"to":B}`: messages A..B are gone from the replay buffer. */
export function gapFrame(gap: ReplayGap): string {
  return `{"type":"gap","from":${gap.from},"to":${gap.to}}`;
}

/** `{"type":"error","error":code,"message":...}`: sent before the gateway closes an envelope connection. */
export function errorFrame(err: GatewayError): string {
  return JSON.stringify({ type: "error", error: err.code, message: err.message, ...err.details });
}

/** What one client frame of envelope mode asks for. */
export type ClientFrame =
  | { kind: "message"; message: JsonRpcMessage }
  | { kind: "ack"; seq: number }
  | { kind: "end" }
  | { kind: "invalid"; detail: string };

/**
 * Classifies a parsed client frame: an envelope `message`, `ack` or `end`,
 * or a bare JSON-RPC object (accepted too, so a client may skip the envelope
 * on the way in).
 */
export function classifyClientFrame(frame: unknown): ClientFrame {
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) return { kind: "invalid", detail: "frame is not an object" };
  const f = frame as { type?: unknown; message?: unknown; seq?: unknown; jsonrpc?: unknown };
  if (f.jsonrpc !== undefined) return { kind: "message", message: frame as JsonRpcMessage };
  switch (f.type) {
    case "message":
      if (typeof f.message !== "object" || f.message === null || Array.isArray(f.message)) return { kind: "invalid", detail: "message must be a JSON-RPC object" };
      return { kind: "message", message: f.message as JsonRpcMessage };
    case "ack":
      return Number.isSafeInteger(f.seq) && (f.seq as number) >= 0 ? { kind: "ack", seq: f.seq as number } : { kind: "invalid", detail: "ack needs an integer seq" };
    case "end":
      return { kind: "end" };
    default:
      return { kind: "invalid", detail: `unknown frame type ${String(f.type)}` };
  }
}
