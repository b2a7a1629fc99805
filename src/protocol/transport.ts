import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.js";

/**
 * What a transport knows about a message besides its body.
 * `relatedRequestId` is set by upstream transports that can tell which request
 * a server message belongs to (Streamable HTTP: it arrived on that POST's SSE stream).
 */
export interface MessageExtra {
  relatedRequestId?: JsonRpcId;
}

/**
 * One bidirectional message pipe, shaped like the MCP SDK's Transport.
 * Every downstream listener and every upstream kind implements it, so the
 * relay never knows which wire it talks to.
 *
 * `send` returns false when the peer is not keeping up (socket buffer full);
 * the transport then emits `ondrain` once it can take more (backpressure as a
 * return value plus a drain event, like ws and undici).
 */
export interface Transport {
  /** Opens the connection (spawns the child, connects the socket, ...). */
  start(): Promise<void>;
  /** Sends one message. Returns false when backpressured. */
  send(message: JsonRpcMessage, extra?: MessageExtra): boolean | void;
  /** Closes the connection; resolves when it is closed. Idempotent. */
  close(): Promise<void>;
  /** One message from the peer. */
  onmessage?: (message: JsonRpcMessage, extra?: MessageExtra) => void;
  /** A non-fatal error (bad frame, failed POST, ...). */
  onerror?: (error: Error) => void;
  /** The connection is gone, for whatever reason. Called once. */
  onclose?: () => void;
  /** Called when a backpressured transport can take more. */
  ondrain?: () => void;
  /** Session id on wires that have one (Streamable HTTP upstream). */
  sessionId?: string;
}
