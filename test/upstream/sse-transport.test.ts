import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { SseUpstreamTransport } from "../../src/upstream/transports/sse.js";
import type { UpstreamTransportError } from "../../src/upstream/transports/errors.js";
import {
  Inbox,
  buildMcpServer,
  closeHttp,
  deadPort,
  handshakeWith,
  listenLocal,
  sampleRoundTrip,
  useUpstream,
  sessionNotFound,
} from "./helpers.js";

interface Upstream {
  url: string;
  sessions: Map<string, { transport: SSEServerTransport; server: McpServer }>;
  events: EventEmitter;
  close(): Promise<void>;
}

/** A real SDK HTTP+SSE server: GET /sse opens a session, POST /messages?sessionId= feeds it. */
async function startUpstream(): Promise<Upstream> {
  const sessions: Upstream["sessions"] = new Map();
  const events = new EventEmitter();
  const httpServer = http.createServer(async (req, res) => {
    const url = new URL(req.url!, "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", res);
      const server = buildMcpServer(events, { name: "legacy-upstream" });
      sessions.set(transport.sessionId, { transport, server });
      res.on("close", () => {
        sessions.delete(transport.sessionId);
        events.emit("session-closed", transport.sessionId);
      });
      await server.connect(transport);
      return;
    }
    if (req.method === "POST" && url.pathname === "/messages") {
      const s = sessions.get(url.searchParams.get("sessionId") ?? "");
      if (!s) {
        sessionNotFound(res);
        return;
      }
      await s.transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  });
  const port = await listenLocal(httpServer);
  return {
    url: `http://127.0.0.1:${port}/sse`,
    sessions,
    events,
    async close() {
      await closeHttp(httpServer);
    },
  };
}

const handshake = handshakeWith("2024-11-05");

describe("SseUpstreamTransport", () => {
  const up = useUpstream(() => startUpstream());

  it("resolves the endpoint, relays requests, progress and sampling, and closes", async () => {
    const t = new SseUpstreamTransport({ url: up.url });
    const inbox = new Inbox().attach(t);
    let closed = 0;
    t.onclose = () => closed++;
    await t.start();
    assert.ok(t.sessionId && up.sessions.has(t.sessionId));
    assert.equal(t.endpoint, `${new URL(up.url).origin}/messages?sessionId=${t.sessionId}`);

    const init = await handshake(t, inbox);
    assert.equal(init.msg.result.serverInfo.name, "legacy-upstream");
    assert.equal(init.msg.result.protocolVersion, "2024-11-05");

    t.send({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const list = (await inbox.reply(1)).msg.result.tools.map((x: { name: string }) => x.name).sort();
    assert.deepEqual(list, ["echo", "never", "sample"]);

    t.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "hello" } } });
    assert.deepEqual((await inbox.reply(2)).msg.result.content, [{ type: "text", text: "hello" }]);

    const { sampling } = await sampleRoundTrip(t, inbox, 3, 99);
    // The legacy wire cannot say which request a server message belongs to.
    assert.equal(sampling.extra, undefined);

    const sid = t.sessionId!;
    const gone = new Promise<void>((r) => up.events.on("session-closed", (id) => id === sid && r()));
    await t.close();
    assert.equal(closed, 1);
    await t.close();
    assert.equal(closed, 1);
    assert.throws(() => t.send({ jsonrpc: "2.0", method: "notifications/initialized" }));
    // The server notices the dropped stream.
    await gone;
    assert.deepEqual(inbox.errors, []);
  });

  it("rejects start() when the upstream is down", async () => {
    const port = await deadPort();
    const t = new SseUpstreamTransport({ url: `http://127.0.0.1:${port}/sse` });
    await assert.rejects(t.start(), (err: UpstreamTransportError) => err.code === "upstream_unavailable");
  });

  it("rejects start() on a non-SSE answer", async () => {
    const t = new SseUpstreamTransport({ url: up.url.replace("/sse", "/nope") });
    await assert.rejects(t.start(), (err: UpstreamTransportError) => err.code === "upstream_error" && err.status === 404);
  });

  it("answers in-flight requests with errors and closes when the upstream dies", async () => {
    const dying = await startUpstream();
    const t = new SseUpstreamTransport({ url: dying.url });
    const inbox = new Inbox().attach(t);
    const closed = new Promise<void>((r) => (t.onclose = r));
    await t.start();
    await handshake(t, inbox);
    const started = once(dying.events, "never-started");
    t.send({ jsonrpc: "2.0", id: "stuck", method: "tools/call", params: { name: "never", arguments: {} } });
    await started;
    await dying.close();
    const reply = await inbox.reply("stuck");
    assert.equal(reply.msg.error.data.error, "upstream_unavailable");
    await closed;
    assert.equal((inbox.errors[0] as UpstreamTransportError).code, "upstream_unavailable");
  });

  it("answers a request whose POST is refused with an error response", async () => {
    const t = new SseUpstreamTransport({ url: up.url });
    const inbox = new Inbox().attach(t);
    await t.start();
    // The upstream forgets the session while the stream stays up.
    up.sessions.delete(t.sessionId!);
    t.send({ jsonrpc: "2.0", id: 7, method: "tools/list" });
    const reply = await inbox.reply(7);
    assert.equal(reply.msg.error.data.error, "upstream_error");
    assert.equal(reply.msg.error.data.status, 404);
    assert.equal(reply.msg.error.code, -32018, "the catalogue's upstream_error code");
    assert.equal(reply.msg.error.data.upstream_code, -32001, "the upstream's own code travels in data");
    assert.match(reply.msg.error.message, /Session not found/);
    await t.close();
  });
});
