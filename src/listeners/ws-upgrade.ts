import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type ServerOptions } from "ws";
import type { ListenerContext } from "./context.js";

/**
 * The WebSocketServer a WebSocket-based listener (bare/envelope WebSocket,
 * Phoenix) upgrades into: no own HTTP server, frames capped at
 * `websocket.max_frame_size` (ws refuses larger ones before buffering), no
 * per-message deflate (MCP frames are small JSON; deflate costs more CPU than
 * it saves), and the listener's subprotocol choice.
 */
export function createListenerWss(ctx: ListenerContext, handleProtocols: NonNullable<ServerOptions["handleProtocols"]>): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    maxPayload: ctx.config.current.websocket.max_frame_size,
    perMessageDeflate: false,
    handleProtocols,
  });
}

/**
 * Refuses an upgrade before the handshake: writes a complete HTTP response
 * with a JSON body on the raw socket and ends it (the WebSocket never opens).
 */
export function refuseUpgrade(socket: Duplex, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`,
  );
}
