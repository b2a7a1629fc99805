import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import { GatewayError, toGatewayError, toJsonRpcError } from "../errors/index.js";
import type { DownstreamSink, Session } from "../session/session.js";
import type { ListenerContext } from "./context.js";
import { queryOf } from "./http-util.js";
import { channels } from "../telemetry/channels.js";

/** The WebSocket side of a session: one JSON-RPC message per text frame. */
export class WebSocketSink implements DownstreamSink {
  readonly kind = "websocket" as const;

  constructor(
    readonly ws: WebSocket,
    readonly maxBuffered: number,
  ) {}

  deliver(message: JsonRpcMessage, _relatedId: unknown, session: Session): boolean {
    const json = JSON.stringify(message);
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "outbound", clientId: session.clientId, sessionId: session.id, transport: "websocket", size: json.length });
    session.record(json, "ws");
    if (this.ws.readyState !== 1) return false;
    this.ws.send(json);
    return this.ws.bufferedAmount < this.maxBuffered;
  }

  close(code = 1000, reason = ""): void {
    this.ws.close(code, reason);
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }
}

/**
 * Accepts WebSocket upgrades on `/mcp/ws` (subprotocol `mcp`). Frames above
 * `websocket.max_frame_size` are refused by ws itself before buffering.
 */
export class WebSocketListener {
  readonly wss: WebSocketServer;

  constructor(readonly ctx: ListenerContext) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: ctx.config.current.websocket.max_frame_size,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has("mcp") ? "mcp" : false),
    });
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let identity;
    try {
      identity = await this.ctx.authenticate(req);
    } catch (err) {
      const e = toGatewayError(err);
      const body = JSON.stringify({ error: e.code, reason: e.details.reason ?? null, retry_after: null });
      socket.end(`HTTP/1.1 ${e.status} ${e.status === 401 ? "Unauthorized" : "Forbidden"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = this.ctx.registry.create(identity.clientId, "websocket");
      session.identity = identity;
      this.#serve(ws, session, req);
    });
  }

  #serve(ws: WebSocket, session: Session, req: IncomingMessage): void {
    const ctx = this.ctx;
    const config = ctx.config.current;
    const sink = new WebSocketSink(ws, config.backpressure.max_buffered_bytes);
    session.attach(sink);
    ctx.onConnected(session, req);
    ws.on("message", (data: RawData, isBinary: boolean) => {
      const text = isBinary ? null : data.toString();
      let message: JsonRpcMessage;
      try {
        if (text === null) throw new Error("binary frames are not JSON-RPC");
        message = JSON.parse(text);
      } catch (err) {
        session.send(toJsonRpcError(new GatewayError("parse_error", { detail: (err as Error).message }), null));
        return;
      }
      if (Array.isArray(message)) {
        session.send(toJsonRpcError(new GatewayError("batch_not_supported"), null));
        return;
      }
      if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "websocket", method: (message as { method?: string }).method, size: text!.length });
      ctx.dispatch(session, message);
    });
    // ws answers an oversized frame with 1009; the gateway's catalogue (and the
    // guide) say 1008 policy violation. ws reads the close code from a symbol
    // on the error before closing, so we rewrite it on the receiver first.
    const receiver = (ws as unknown as { _receiver?: import("node:events").EventEmitter })._receiver;
    receiver?.prependListener("error", (err: Error & { code?: string }) => {
      if (err.code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return;
      const sym = Object.getOwnPropertySymbols(err).find((s) => s.description === "status-code");
      if (sym) (err as unknown as Record<symbol, number>)[sym] = 1008;
      session.closeReason = "message_too_large";
    });
    ws.on("error", () => {});
    ws.on("close", (code: number, reason: Buffer) => {
      session.detach(sink);
      ctx.onDisconnected(session, code, session.closeReason ?? reason.toString());
      // A WebSocket session without resume support ends with its socket.
      if (!queryOf(req).get("resumable")) ctx.registry.end(session);
    });
  }

  /** Closes every socket with a code (1001 on shutdown). */
  closeAll(code: number, reason: string): void {
    for (const ws of this.wss.clients) ws.close(code, reason);
  }
}
