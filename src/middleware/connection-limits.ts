import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import { GatewayError } from "../errors/index.js";
import type { ConfigStore } from "../config/store.js";
import type { SessionRegistry } from "../session/registry.js";
import { channels } from "../telemetry/channels.js";

/**
 * Refuses a new session when its client already holds
 * `server.max_connections_per_client` open connections: WebSocket, Phoenix
 * and HTTP+SSE sessions with their socket attached. Sessions waiting for a
 * resume hold no socket and do not count; neither do Streamable HTTP
 * sessions, which are request/response and live until DELETE or the TTL
 * (SDK clients rarely DELETE), their sockets being under the total cap.
 * Throws `too_many_connections` (HTTP 503, WebSocket upgrade refused).
 */
export function admitClient(registry: SessionRegistry, config: ConfigStore, clientId: string): void {
  const max = config.current.server.max_connections_per_client;
  let n = 0;
  for (const s of registry.byClient(clientId)) if (s.sink !== null && s.sink.kind !== "streamable_http") n++;
  if (n >= max) {
    if (channels.client.hasSubscribers) channels.client.publish({ type: "connection_refused", clientId, connections: n, limit: max });
    throw new GatewayError("too_many_connections", { detail: `client ${clientId} has ${n} connections (server.max_connections_per_client ${max})` });
  }
}

/**
 * Caps open TCP connections at `server.max_connections`. Past the cap the
 * socket gets a 503 `too_many_connections` JSON answer and is closed, which
 * is clearer than Node's `server.maxConnections` (a silent drop). Returns the
 * live count for stats.
 */
export function capConnections(server: Server, config: ConfigStore): { readonly open: number } {
  const state = { open: 0 };
  // One listener for every socket (a closure per socket, or once()'s wrapper, would stay with each idle connection).
  const closed = () => state.open--;
  server.prependListener("connection", (socket: Socket) => {
    state.open++;
    socket.on("close", closed);
    const max = config.current.server.max_connections;
    if (state.open <= max) return;
    const body = JSON.stringify({ error: "too_many_connections", message: `Too many connections: the gateway serves at most ${max} (server.max_connections)` });
    socket.on("error", () => {});
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`, () => socket.destroy());
  });
  return state;
}

/**
 * Refuses a request with more than `server.max_headers_count` headers (431).
 * Node only truncates past `maxHeadersCount`, which would let a client hide
 * headers from us; the server is configured with one more than the limit so
 * an overflow is visible here.
 */
export function checkHeaderCount(req: IncomingMessage, max: number): GatewayError | null {
  const n = req.rawHeaders.length >> 1;
  return n > max ? new GatewayError("headers_too_large", { detail: `more than ${max} headers (server.max_headers_count)` }) : null;
}
