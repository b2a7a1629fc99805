import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocketServer, ServerOptions } from "ws";
import { wsPackage } from "../lazy-packages.js";
import type { ListenerContext } from "./context.js";
import type { HeartbeatSweeper } from "./ws-heartbeat.js";

// Pieces the WebSocket-based listeners (bare/envelope WebSocket, Phoenix) share:
// their server, refusing an upgrade, and closing every socket on shutdown.

/**
 * The WebSocketServer a WebSocket-based listener (bare/envelope WebSocket,
 * Phoenix) upgrades into: no own HTTP server, frames capped at
 * `websocket.max_frame_size` (ws refuses larger ones before buffering), no
 * per-message deflate (MCP frames are small JSON; deflate costs more CPU than
 * it saves), and the listener's subprotocol choice. No client tracking: ws
 * would keep every socket in a Set with a `close` closure each (~130 B per
 * socket); the listener's heartbeat already tracks every open socket, and
 * shutdown closes those (closeAllSockets).
 */
export function createListenerWss(ctx: ListenerContext, handleProtocols: NonNullable<ServerOptions["handleProtocols"]>): WebSocketServer {
  return new (wsPackage().WebSocketServer)({
    noServer: true,
    maxPayload: ctx.config.current.websocket.max_frame_size,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols,
  });
}

/**
 * Refuses an upgrade before the handshake: writes a complete HTTP response
 * with a JSON body on the raw socket and ends it (the WebSocket never opens).
 * `headers` (e.g. `www-authenticate`) are added as given; their values must
 * not contain CR or LF.
 */
export function refuseUpgrade(socket: Duplex, status: number, body: unknown, headers?: Record<string, string>): void {
  const json = JSON.stringify(body);
  let extra = "";
  if (headers) for (const [name, value] of Object.entries(headers)) extra += `${name}: ${value}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n${extra}connection: close\r\n\r\n${json}`,
  );
}

/**
 * Stops the heartbeat and closes every open socket of the listener (those its
 * heartbeat tracks: each from its serving to its close) with `code` (1001 on
 * shutdown); peers that do not answer the close are cut after `graceMs`.
 */
export function closeAllSockets(wss: WebSocketServer | undefined, heartbeat: HeartbeatSweeper, code: number, reason: string, graceMs: number): void {
  heartbeat.stop();
  // Never upgraded into: no sockets (and ws was never loaded).
  if (wss === undefined) return;
  for (const ws of heartbeat.sockets()) ws.close(code, reason);
  if (heartbeat.size > 0) {
    setTimeout(() => {
      for (const ws of heartbeat.sockets()) ws.terminate();
    }, graceMs).unref();
  }
}
