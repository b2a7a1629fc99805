import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport, type EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { UpstreamTransportError } from "../../src/upstream/transports/errors.js";
import { StreamableHttpUpstreamTransport } from "../../src/upstream/transports/streamable-http.js";
import {
  Inbox,
  buildMcpServer,
  closeHttp,
  deadPort,
  handshakeWith,
  initParams,
  listenLocal,
  sampleRoundTrip,
  useUpstream,
  sessionNotFound,
  type Received,
} from "./helpers.js";

// ----------------------------------------------------------------- helpers

/** A tiny event store with ordered ids, so resumption is deterministic. */
class OrderedEventStore implements EventStore {
  #seq = 0;
  #events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}::${++this.#seq}`;
    this.#events.push({ id, streamId, message });
    return id;
  }
  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.find((e) => e.id === eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId: string, { send }: { send: (id: string, m: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const i = this.#events.findIndex((e) => e.id === lastEventId);
    const streamId = this.#events[i]!.streamId;
    for (const e of this.#events.slice(i + 1)) {
      if (e.streamId === streamId && Object.keys(e.message).length > 0) await send(e.id, e.message);
    }
    return streamId;
  }
}

interface Upstream {
  url: string;
  port: number;
  requests: Array<{ method: string; headers: http.IncomingHttpHeaders }>;
  sessions: Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>;
  events: EventEmitter;
  close(): Promise<void>;
}

/** A real SDK Streamable HTTP server on 127.0.0.1:0, one McpServer per session. */
async function startUpstream(opts: { eventStore?: boolean; json?: boolean } = {}): Promise<Upstream> {
  const requests: Upstream["requests"] = [];
  const sessions: Upstream["sessions"] = new Map();
  const events = new EventEmitter();
  const httpServer = http.createServer(async (req, res) => {
    requests.push({ method: req.method!, headers: req.headers });
    events.emit("request", req.method, req.headers);
    const sid = req.headers["mcp-session-id"] as string | undefined;
    if (sid !== undefined) {
      const s = sessions.get(sid);
      if (!s) {
        sessionNotFound(res);
        return;
      }
      if (req.method === "GET") {
        // Tell the test once the GET stream is registered (the SDK registers it before writing the head).
        const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
        (res as any).writeHead = (...a: unknown[]) => {
          const r = writeHead(...a);
          events.emit("get-open", req.headers);
          return r;
        };
      }
      await s.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(400).end();
      return;
    }
    const server = buildMcpServer(events, { name: "upstream", logging: true, interrupt: true });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: opts.json ?? false,
      eventStore: opts.eventStore ? new OrderedEventStore() : undefined,
      retryInterval: opts.eventStore ? 10 : undefined,
      onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  const port = await listenLocal(httpServer);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    requests,
    sessions,
    events,
    async close() {
      for (const s of sessions.values()) await s.server.close().catch(() => {});
      await closeHttp(httpServer);
    },
  };
}

const INIT_PARAMS = initParams("2025-11-25");

const handshake = handshakeWith("2025-11-25", "init-1");

// ------------------------------------------------------------------- tests

describe("StreamableHttpUpstreamTransport", () => {
  const up = useUpstream(() => startUpstream({ eventStore: true }));

  it("initializes, lists and calls tools, relays progress and sampling, and closes with DELETE", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    let closed = 0;
    t.onclose = () => closed++;
    await t.start();

    const getOpen = once(up.events, "get-open");
    const init = await handshake(t, inbox);
    assert.equal(init.msg.result.protocolVersion, "2025-11-25");
    assert.equal(init.msg.result.serverInfo.name, "upstream");
    assert.ok(t.sessionId && up.sessions.has(t.sessionId), "session id captured");
    assert.equal(t.protocolVersion, "2025-11-25");
    const [getHeaders] = (await getOpen) as [http.IncomingHttpHeaders];
    assert.equal(getHeaders["mcp-session-id"], t.sessionId);
    assert.equal(getHeaders.accept, "text/event-stream");

    t.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const list = await inbox.reply(2);
    assert.deepEqual(
      list.msg.result.tools.map((x: { name: string }) => x.name).sort(),
      ["echo", "interrupt", "never", "sample"],
    );
    // Requests after initialize carry the session and the negotiated version.
    const listReq = up.requests.filter((r) => r.method === "POST").at(-1)!;
    assert.equal(listReq.headers["mcp-session-id"], t.sessionId);
    assert.equal(listReq.headers["mcp-protocol-version"], "2025-11-25");
    assert.match(String(listReq.headers.accept), /application\/json/);
    assert.match(String(listReq.headers.accept), /text\/event-stream/);
    const initReq = up.requests.find((r) => r.method === "POST")!;
    assert.equal(initReq.headers["mcp-session-id"], undefined);

    t.send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "hi" } } });
    const echo = await inbox.reply(3);
    assert.deepEqual(echo.msg.result.content, [{ type: "text", text: "hi" }]);
    assert.equal(echo.extra?.relatedRequestId, 3);

    const { progress, sampling } = await sampleRoundTrip(t, inbox, "call-s", "tok");
    assert.equal(progress.extra?.relatedRequestId, "call-s");
    assert.equal(sampling.extra?.relatedRequestId, "call-s");

    // A server-initiated notification arrives on the GET stream, with no related request.
    up.sessions.get(t.sessionId!)!.server.sendToolListChanged();
    const changed = await inbox.wait((r) => r.msg.method === "notifications/tools/list_changed", "list_changed");
    assert.equal(changed.extra?.relatedRequestId, undefined);

    const sid = t.sessionId!;
    const deleted = once(up.events, "request", { signal: AbortSignal.timeout(5000) });
    await t.close();
    const [method, headers] = (await deleted) as [string, http.IncomingHttpHeaders];
    assert.equal(method, "DELETE");
    assert.equal(headers["mcp-session-id"], sid);
    assert.equal(up.sessions.has(sid), false);
    assert.equal(closed, 1);
    await t.close();
    assert.equal(closed, 1, "close is idempotent");
    assert.throws(() => t.send({ jsonrpc: "2.0", method: "notifications/initialized" }));
    assert.deepEqual(inbox.errors, []);
  });

  it("resumes a POST stream the server closed, with Last-Event-ID, and gets the reply", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    await t.start();
    await handshake(t, inbox);
    t.send({ jsonrpc: "2.0", id: 10, method: "tools/call", params: { name: "interrupt", arguments: {} } });
    const reply = await inbox.reply(10);
    assert.deepEqual(reply.msg.result.content, [{ type: "text", text: "survived" }]);
    assert.equal(reply.extra?.relatedRequestId, 10);
    const log = await inbox.wait((r) => r.msg.method === "notifications/message", "log after close");
    assert.equal(log.extra?.relatedRequestId, 10);
    const resume = up.requests.find(
      (r) => r.method === "GET" && r.headers["mcp-session-id"] === t.sessionId && r.headers["last-event-id"] !== undefined,
    );
    assert.ok(resume, "resumed with Last-Event-ID");
    assert.deepEqual(inbox.errors, []);
    await t.close();
  });

  it("knows a reply arrived even when the receiver rewrites its id in place (no resume, no extra GET)", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    const deliver = t.onmessage!;
    // What the relay does: map the upstream id back to the caller's id on the same object.
    t.onmessage = (msg, extra) => {
      const m = msg as { id?: unknown; method?: string };
      if (m.method === undefined && typeof m.id === "number") m.id = `caller-${m.id}`;
      deliver(msg, extra);
    };
    await t.start();
    const firstGet = once(up.events, "get-open");
    t.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: INIT_PARAMS });
    await inbox.reply("caller-1");
    t.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    await firstGet;
    const sid = t.sessionId!;
    for (let i = 2; i < 22; i++) {
      t.send({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "echo", arguments: { text: `m${i}` } } });
      assert.deepEqual((await inbox.reply(`caller-${i}`)).msg.result.content, [{ type: "text", text: `m${i}` }]);
    }
    const gets = up.requests.filter((r) => r.method === "GET" && r.headers["mcp-session-id"] === sid);
    assert.equal(gets.length, 1, "only the standalone GET stream");
    assert.equal(gets.filter((r) => r.headers["last-event-id"] !== undefined).length, 0, "no resume");
    assert.equal(inbox.items.filter((r) => r.msg.error !== undefined).length, 0, "no stand-in error replies");
    assert.deepEqual(inbox.errors, []);
    await t.close();
  });

  it("reconnects the GET stream with Last-Event-ID and loses no notification", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    await t.start();
    const firstGet = once(up.events, "get-open");
    await handshake(t, inbox);
    await firstGet;
    const s = up.sessions.get(t.sessionId!)!;
    const isChanged = (r: Received): boolean => r.msg.method === "notifications/tools/list_changed";
    s.server.sendToolListChanged();
    await inbox.wait(isChanged, "first list_changed");
    const secondGet = once(up.events, "get-open");
    s.transport.closeStandaloneSSEStream();
    // Sent while the client is (probably) disconnected: it must be replayed.
    s.server.sendToolListChanged();
    await inbox.wait(() => inbox.items.filter(isChanged).length === 2, "replayed notification");
    const [headers] = (await secondGet) as [http.IncomingHttpHeaders];
    assert.ok(headers["last-event-id"], "reconnect carried Last-Event-ID");
    await t.close();
  });

  it("reports session_expired when the upstream answers 404 for the session, then re-initializes", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    await t.start();
    await handshake(t, inbox);
    const sid = t.sessionId!;
    // The upstream restarts and forgets the session.
    const s = up.sessions.get(sid)!;
    up.sessions.delete(sid);
    const expired = inbox.error((e) => (e as UpstreamTransportError).code === "session_expired");
    t.send({ jsonrpc: "2.0", id: 20, method: "tools/list" });
    const reply = await inbox.reply(20);
    assert.equal(reply.msg.error.data.error, "upstream_unavailable");
    assert.equal(reply.msg.error.data.reason, "session_expired");
    assert.equal(reply.msg.error.code, -32016);
    const err = (await expired) as UpstreamTransportError;
    assert.ok(err instanceof UpstreamTransportError);
    assert.equal(err.code, "session_expired");
    assert.equal(err.status, 404);
    assert.equal(t.sessionId, undefined);
    await s.server.close();

    // The owner re-initializes over the same transport and gets a fresh session.
    await handshake(t, inbox, "init-2");
    assert.ok(t.sessionId && t.sessionId !== sid);
    t.send({ jsonrpc: "2.0", id: 21, method: "tools/call", params: { name: "echo", arguments: { text: "again" } } });
    assert.deepEqual((await inbox.reply(21)).msg.result.content, [{ type: "text", text: "again" }]);
    await t.close();
  });

  it("answers the in-flight request with an error when the upstream is down", async () => {
    const port = await deadPort();
    const t = new StreamableHttpUpstreamTransport({ url: `http://127.0.0.1:${port}/mcp` });
    const inbox = new Inbox().attach(t);
    await t.start();
    t.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: INIT_PARAMS });
    const reply = await inbox.reply(1);
    assert.equal(reply.msg.error.data.error, "upstream_unavailable");
    assert.equal((inbox.errors[0] as UpstreamTransportError).code, "upstream_unavailable");
    // Notifications fail with onerror only.
    t.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    await inbox.error(() => inbox.errors.length >= 2);
    await t.close();
  });

  it("answers the in-flight request with an error when the upstream dies mid-call", async () => {
    const dying = await startUpstream();
    const t = new StreamableHttpUpstreamTransport({ url: dying.url, reconnectInitialDelayMs: 10 });
    const inbox = new Inbox().attach(t);
    await t.start();
    await handshake(t, inbox);
    const started = once(dying.events, "never-started");
    t.send({ jsonrpc: "2.0", id: 30, method: "tools/call", params: { name: "never", arguments: {} } });
    await started;
    await dying.close();
    const reply = await inbox.reply(30);
    assert.equal(reply.msg.error.data.error, "upstream_unavailable");
    await t.close();
  });

  it("handles JSON responses (enableJsonResponse)", async () => {
    const jsonUp = await startUpstream({ json: true });
    const t = new StreamableHttpUpstreamTransport({ url: jsonUp.url });
    const inbox = new Inbox().attach(t);
    await t.start();
    await handshake(t, inbox);
    t.send({ jsonrpc: "2.0", id: 40, method: "tools/call", params: { name: "echo", arguments: { text: "json" } } });
    const reply = await inbox.reply(40);
    assert.deepEqual(reply.msg.result.content, [{ type: "text", text: "json" }]);
    assert.equal(reply.extra, undefined);
    await t.close();
    await jsonUp.close();
  });

  it("turns a non-2xx answer into an error response carrying the status", async () => {
    const s = http.createServer((_req, res) => {
      res.writeHead(503, { "content-type": "text/html" }).end("<h1>down for maintenance</h1>");
    });
    s.listen(0, "127.0.0.1");
    await once(s, "listening");
    const t = new StreamableHttpUpstreamTransport({ url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/mcp` });
    const inbox = new Inbox().attach(t);
    t.send({ jsonrpc: "2.0", id: "x", method: "initialize", params: INIT_PARAMS });
    const reply = await inbox.reply("x");
    assert.equal(reply.msg.error.data.error, "upstream_error");
    assert.equal(reply.msg.error.data.status, 503);
    assert.equal(reply.msg.error.code, -32018);
    assert.equal(reply.msg.error.data.upstream, `http://127.0.0.1:${(s.address() as AddressInfo).port}/mcp`);
    assert.equal((inbox.errors[0] as UpstreamTransportError).status, 503);
    await t.close();
    await new Promise<void>((r) => s.close(() => r()));
  });

  it("signals backpressure past maxInFlight and drains", async () => {
    const t = new StreamableHttpUpstreamTransport({ url: up.url, maxInFlight: 4 });
    const inbox = new Inbox().attach(t);
    await handshake(t, inbox);
    const drained = new Promise<void>((r) => (t.ondrain = r));
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(t.send({ jsonrpc: "2.0", id: 100 + i, method: "tools/call", params: { name: "echo", arguments: { text: `m${i}` } } }));
    }
    assert.ok(results.includes(false), "send reported backpressure");
    await drained;
    for (let i = 0; i < 6; i++) await inbox.reply(100 + i);
    await t.close();
  });
});
