import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { CreateMessageResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { JsonRpcId, JsonRpcMessage } from "../../src/protocol/jsonrpc.js";
import type { MessageExtra } from "../../src/protocol/transport.js";
import { SseUpstreamTransport } from "../../src/upstream/transports/sse.js";
import type { UpstreamTransportError } from "../../src/upstream/transports/streamable-http.js";

type Received = { msg: JsonRpcMessage & Record<string, any>; extra?: MessageExtra };

/** Collects what a transport delivers and lets a test await a matching message. */
class Inbox {
  readonly items: Received[] = [];
  readonly errors: Error[] = [];
  #waiters: Array<{ pred: (r: Received) => boolean; resolve: (r: Received) => void }> = [];

  attach(t: SseUpstreamTransport): this {
    t.onmessage = (msg, extra) => this.#push({ msg: msg as Received["msg"], extra });
    t.onerror = (err) => void this.errors.push(err);
    return this;
  }

  #push(r: Received): void {
    this.items.push(r);
    const i = this.#waiters.findIndex((w) => w.pred(r));
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(r);
  }

  wait(pred: (r: Received) => boolean, what = "message", timeoutMs = 5000): Promise<Received> {
    const seen = this.items.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
      });
    });
  }

  reply(id: JsonRpcId): Promise<Received> {
    return this.wait((r) => r.msg.id === id && r.msg.method === undefined, `reply to ${id}`);
  }
}

function buildMcpServer(events: EventEmitter): McpServer {
  const server = new McpServer({ name: "legacy-upstream", version: "1.0.0" });
  server.registerTool("echo", { description: "echo", inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool("sample", { description: "progress + sampling", inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const token = extra._meta?.progressToken;
    if (token !== undefined) {
      await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 2 } });
    }
    const r = await extra.sendRequest(
      {
        method: "sampling/createMessage",
        params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 16 },
      },
      CreateMessageResultSchema,
    );
    return { content: [{ type: "text", text: `sampled: ${r.content.type === "text" ? r.content.text : "?"}` }] };
  });
  server.registerTool("never", { description: "never answers" }, async () => {
    events.emit("never-started");
    return new Promise(() => {});
  });
  return server;
}

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
      const server = buildMcpServer(events);
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
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
        return;
      }
      await s.transport.handlePostMessage(req, res);
      return;
    }
    res.writeHead(404).end();
  });
  httpServer.listen(0, "127.0.0.1");
  await once(httpServer, "listening");
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    sessions,
    events,
    async close() {
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}

const INIT_PARAMS = {
  protocolVersion: "2024-11-05",
  capabilities: { sampling: {} },
  clientInfo: { name: "gateway-test", version: "0.0.0" },
};

async function handshake(t: SseUpstreamTransport, inbox: Inbox): Promise<Received> {
  t.send({ jsonrpc: "2.0", id: 0, method: "initialize", params: INIT_PARAMS });
  const init = await inbox.reply(0);
  t.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return init;
}

describe("SseUpstreamTransport", () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });

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

    t.send({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "sample", arguments: { prompt: "ping" }, _meta: { progressToken: 99 } },
    });
    const progress = await inbox.wait((r) => r.msg.method === "notifications/progress", "progress");
    assert.equal(progress.msg.params.progressToken, 99);
    const sampling = await inbox.wait((r) => r.msg.method === "sampling/createMessage", "sampling request");
    // The legacy wire cannot say which request a server message belongs to.
    assert.equal(sampling.extra, undefined);
    t.send({
      jsonrpc: "2.0",
      id: sampling.msg.id,
      result: { role: "assistant", content: { type: "text", text: "pong" }, model: "m" },
    });
    assert.deepEqual((await inbox.reply(3)).msg.result.content, [{ type: "text", text: "sampled: pong" }]);

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
    const s = http.createServer();
    s.listen(0, "127.0.0.1");
    await once(s, "listening");
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
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
