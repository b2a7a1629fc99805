import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { Socket } from "node:net";
import type { Transport as SdkTransport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { WebSocketServer, type WebSocket } from "ws";
import type { UpstreamTransportError } from "../../src/upstream/transports/errors.js";
import { WebSocketUpstreamTransport } from "../../src/upstream/transports/websocket.js";
import {
  Inbox,
  buildMcpServer,
  closeHttp,
  deadPort,
  handshakeWith,
  listenLocal,
  sampleRoundTrip,
  useUpstream,
} from "./helpers.js";

/** The minimal SDK Transport over one server-side ws socket: one JSON message per text frame. */
class WsServerTransport implements SdkTransport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  constructor(private readonly ws: WebSocket) {}
  async start(): Promise<void> {
    this.ws.on("message", (data) => {
      try {
        this.onmessage?.(JSON.parse(String(data)) as JSONRPCMessage);
      } catch (err) {
        this.onerror?.(err as Error);
      }
    });
    this.ws.on("close", () => this.onclose?.());
  }
  async send(message: JSONRPCMessage): Promise<void> {
    this.ws.send(JSON.stringify(message));
  }
  async close(): Promise<void> {
    this.ws.close();
  }
}

interface Upstream {
  url: string;
  wss: WebSocketServer;
  events: EventEmitter;
  close(): Promise<void>;
}

/**
 * A ws server on 127.0.0.1:0 speaking subprotocol `mcp`. `raw: true` skips the
 * MCP server and emits the raw socket (for the backpressure test).
 */
async function startUpstream(opts: { raw?: boolean; rejectWith?: number } = {}): Promise<Upstream> {
  const events = new EventEmitter();
  const httpServer = http.createServer();
  if (opts.rejectWith !== undefined) {
    const status = opts.rejectWith;
    httpServer.on("upgrade", (_req, socket: Socket) => {
      socket.end(`HTTP/1.1 ${status} Nope\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
  }
  const wss = new WebSocketServer({
    server: opts.rejectWith === undefined ? httpServer : undefined,
    noServer: opts.rejectWith !== undefined,
    handleProtocols: (protocols) => (protocols.has("mcp") ? "mcp" : false),
  });
  wss.on("connection", async (ws, req) => {
    events.emit("connection", ws, req);
    if (opts.raw) return;
    const server = buildMcpServer(events, { name: "ws-upstream" });
    await server.connect(new WsServerTransport(ws));
  });
  const port = await listenLocal(httpServer);
  return {
    url: `ws://127.0.0.1:${port}/mcp`,
    wss,
    events,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await closeHttp(httpServer);
    },
  };
}

const handshake = handshakeWith("2025-11-25");

describe("WebSocketUpstreamTransport", () => {
  const up = useUpstream(() => startUpstream());

  it("negotiates subprotocol mcp, relays requests, progress and sampling, and closes", async () => {
    const t = new WebSocketUpstreamTransport({ url: up.url });
    const inbox = new Inbox().attach(t);
    let closed = 0;
    t.onclose = () => closed++;
    const conn = once(up.events, "connection");
    await t.start();
    const [serverWs] = (await conn) as [WebSocket];
    assert.equal(serverWs.protocol, "mcp");

    const init = await handshake(t, inbox);
    assert.equal(init.msg.result.serverInfo.name, "ws-upstream");

    t.send({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const names = (await inbox.reply(1)).msg.result.tools.map((x: { name: string }) => x.name).sort();
    assert.deepEqual(names, ["echo", "never", "sample"]);

    t.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "ws" } } });
    assert.deepEqual((await inbox.reply(2)).msg.result.content, [{ type: "text", text: "ws" }]);

    await sampleRoundTrip(t, inbox, 3, "p");

    const serverClosed = once(serverWs, "close");
    await t.close();
    const [code] = (await serverClosed) as [number];
    assert.equal(code, 1000);
    assert.equal(closed, 1);
    await t.close();
    assert.equal(closed, 1);
    assert.throws(() => t.send({ jsonrpc: "2.0", method: "notifications/initialized" }));
    assert.deepEqual(inbox.errors, []);
  });

  it("answers in-flight requests with errors when the upstream drops the connection", async () => {
    const t = new WebSocketUpstreamTransport({ url: up.url });
    const inbox = new Inbox().attach(t);
    const closed = new Promise<void>((r) => (t.onclose = r));
    const conn = once(up.events, "connection");
    await t.start();
    const [serverWs] = (await conn) as [WebSocket];
    await handshake(t, inbox);
    const started = once(up.events, "never-started");
    t.send({ jsonrpc: "2.0", id: "stuck", method: "tools/call", params: { name: "never", arguments: {} } });
    await started;
    serverWs.terminate();
    const reply = await inbox.reply("stuck");
    assert.equal(reply.msg.error.data.error, "upstream_unavailable");
    await closed;
    assert.equal((inbox.errors[0] as UpstreamTransportError).code, "upstream_unavailable");
  });

  it("rejects start() when the upstream is down", async () => {
    const port = await deadPort();
    const t = new WebSocketUpstreamTransport({ url: `ws://127.0.0.1:${port}/mcp` });
    await assert.rejects(t.start(), (err: UpstreamTransportError) => err.code === "upstream_unavailable");
  });

  it("rejects start() when the upgrade is refused", async () => {
    const refusing = await startUpstream({ rejectWith: 401 });
    const t = new WebSocketUpstreamTransport({ url: refusing.url });
    await assert.rejects(t.start(), (err: UpstreamTransportError) => err.code === "upstream_error" && err.status === 401);
    await refusing.close();
  });

  it("returns false from send when the socket buffer is full and emits ondrain once it empties", async () => {
    const raw = await startUpstream({ raw: true });
    const t = new WebSocketUpstreamTransport({ url: raw.url, maxBufferedBytes: 256 * 1024 });
    const conn = once(raw.events, "connection");
    await t.start();
    const [, req] = (await conn) as [WebSocket, http.IncomingMessage];
    // The upstream stops reading: our writes pile up in the socket buffer.
    req.socket.pause();
    const big = "x".repeat(128 * 1024);
    let accepted = true;
    let sent = 0;
    while (accepted && sent < 2000) {
      accepted = t.send({ jsonrpc: "2.0", method: "notifications/message", params: { data: big } }) as boolean;
      sent++;
    }
    assert.equal(accepted, false, "send reported backpressure");
    assert.ok(t.bufferedAmount > 256 * 1024);
    const drained = new Promise<void>((r) => (t.ondrain = r));
    req.socket.resume();
    await drained;
    assert.ok(t.bufferedAmount <= 128 * 1024);
    await t.close();
    await raw.close();
  });
});
