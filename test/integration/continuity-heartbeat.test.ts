// Heartbeats, close codes and gap reports over real sockets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import WebSocket from "ws";
import type { Gateway } from "../../src/gateway.js";
import type { ConnectionEvent } from "../../src/telemetry/channels.js";
import { Inbox, openEnvelope, openLegacySse, parseSse, readAll, request, startStreamGateway, type SseEvent } from "../helpers/continuity.js";

const PING = 100;
const PONG = 100;
let gateway: Gateway;
let url: string;
const disconnects = new Inbox<ConnectionEvent>();
const onConnection = (e: unknown) => {
  if ((e as ConnectionEvent).type === "disconnected") disconnects.push(e as ConnectionEvent);
};

before(async () => {
  diagnostics_channel.subscribe("mcp-gateway:connection", onConnection);
  ({ gateway, url } = await startStreamGateway({
    websocket: { ping_interval: PING, pong_timeout: PONG, idle_timeout: 60_000, max_frame_size: 4096 },
    session: { replay_buffer_size: 5 },
    http_sse: { heartbeat_interval: 50, retry: 1500 },
  }));
});
after(async () => {
  diagnostics_channel.unsubscribe("mcp-gateway:connection", onConnection);
  await gateway?.close();
});

/** The next disconnect event of one client. */
async function disconnectOf(clientId: string): Promise<ConnectionEvent> {
  for (let i = 0; i < 50; i++) {
    const e = await disconnects.next(10_000);
    if (e.clientId === clientId) return e;
  }
  throw new Error(`no disconnect of ${clientId}`);
}

test("a peer that stops answering pings is cut after one unanswered ping and recorded as 1006; a live idle peer stays", async (t) => {
  const wsUrl = url.replace(/^http/, "ws");
  const dead = new WebSocket(`${wsUrl}/mcp/ws?client_id=deadpeer`, ["mcp-gateway.v1"], { autoPong: false });
  const live = new WebSocket(`${wsUrl}/mcp/ws?client_id=livepeer`, ["mcp-gateway.v1"]);
  let deadPings = 0;
  const livePings = new Inbox<number>();
  dead.on("ping", () => deadPings++);
  live.on("ping", () => livePings.push(Date.now()));
  await Promise.all([new Promise((r) => dead.once("open", r)), new Promise((r) => live.once("open", r))]);
  const opened = Date.now();
  const clientSaw = new Promise<number>((r) => dead.once("close", (code) => r(code)));
  const e = await disconnectOf("deadpeer");
  t.diagnostic(`dead peer cut ${Date.now() - opened} ms after connect (ping_interval ${PING} + pong_timeout ${PONG})`);
  assert.equal(e.closeCode, 1006, "recorded as abnormal closure");
  assert.equal(e.reason, "pong_timeout");
  assert.equal(e.transport, "websocket");
  assert.equal(deadPings, 1, "cut after exactly one unanswered ping (so within ping_interval + pong_timeout)");
  assert.equal(await clientSaw, 1006, "no close frame was sent");
  // The live peer answers (ws auto-pong) and is kept across many ping rounds, idle as it is.
  for (let i = 0; i < 5; i++) await livePings.next(5000);
  assert.equal(live.readyState, WebSocket.OPEN);
  const closed = disconnectOf("livepeer");
  live.close(1000);
  assert.equal((await closed).closeCode, 1000, "a polite close is recorded as 1000");
});

test("a frame above websocket.max_frame_size closes with 1008", async () => {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/mcp/ws?client_id=bigframe`, ["mcp"]);
  await new Promise((r) => ws.once("open", r));
  const code = new Promise<number>((r) => ws.once("close", (c) => r(c)));
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(8000) } }));
  assert.equal(await code, 1008);
});

/** Starts a call, drops the connection at once, and waits for the call to finish server-side. */
async function streamWhileAway(open: typeof openEnvelope | typeof openLegacySse, clientId: string, count: number) {
  const conn = await open(url, clientId);
  await conn.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "g", version: "1" } } });
  const init = await conn.inbox.next();
  assert.ok("seq" in init && init.seq === 1);
  const done = new Promise<void>((resolve) => {
    const on = (e: unknown) => {
      if ((e as { clientId?: string }).clientId === clientId) {
        diagnostics_channel.unsubscribe("mcp-gateway:call", on);
        resolve();
      }
    };
    diagnostics_channel.subscribe("mcp-gateway:call", on);
  });
  await conn.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count }, _meta: { progressToken: "g" } } });
  conn.cut();
  await done;
  return conn.sessionId;
}

test("gap: messages evicted from a 5-message replay buffer are reported (WebSocket envelope), then the rest in order", async () => {
  const sessionId = await streamWhileAway(openEnvelope, "gapper-ws", 20);
  const back = await openEnvelope(url, "gapper-ws", { sessionId, lastSeq: 1 });
  const items = [];
  for (let i = 0; i < 6; i++) items.push(await back.inbox.next());
  back.cut();
  const last = gateway.registry.get(sessionId)!.lastSeq;
  assert.deepEqual(items[0], { gap: { from: 2, to: last - 5 } });
  assert.deepEqual(items.slice(1).map((r) => ("seq" in r ? r.seq : -1)), [last - 4, last - 3, last - 2, last - 1, last]);
  const answer = items[5]!;
  assert.ok("seq" in answer && answer.message.id === 2, "the call's answer is the last message");
});

test("gap: reported as `event: gap` on HTTP+SSE resume (last_event_id in the query)", async () => {
  const sessionId = await streamWhileAway(openLegacySse, "gapper-sse", 20);
  const back = await openLegacySse(url, "gapper-sse", { sessionId, lastSeq: 1, viaQuery: true });
  const first = await back.inbox.next();
  const second = await back.inbox.next();
  back.cut();
  const last = gateway.registry.get(sessionId)!.lastSeq;
  assert.deepEqual(first, { gap: { from: 2, to: last - 5 } });
  assert.ok("seq" in second && second.seq === last - 4);
});

test("gap: reported as `event: gap` on a resumed Streamable HTTP stream, which then ends after its answer", async () => {
  const h = { accept: "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-06-18" };
  const init = await request(`${url}/mcp`, "POST", h, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "g", version: "1" } } }));
  const sessionId = String(init.res.headers["mcp-session-id"]);
  await readAll(init.res);
  const headers = { ...h, "mcp-session-id": sessionId };
  const done = new Promise<void>((resolve) => {
    const on = (e: unknown) => {
      if ((e as { method?: string; clientId?: string }).method === "tools/call") {
        diagnostics_channel.unsubscribe("mcp-gateway:call", on);
        resolve();
      }
    };
    diagnostics_channel.subscribe("mcp-gateway:call", on);
  });
  const call = await request(`${url}/mcp`, "POST", headers, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 20 }, _meta: { progressToken: "x" } } }));
  // Take the priming event's id, then cut the POST stream.
  const priming = await new Promise<SseEvent>((resolve) => parseSse(call.res, resolve));
  call.req.destroy();
  call.res.destroy();
  await done;
  const back = await request(`${url}/mcp`, "GET", { ...headers, "last-event-id": String(priming.id) });
  const events: SseEvent[] = [];
  parseSse(back.res, (e) => events.push(e));
  await new Promise((r) => back.res.once("close", r));
  assert.equal(events[0]!.event, "gap");
  const gap = JSON.parse(events[0]!.data);
  assert.equal(gap.from, Number(priming.id) + 1);
  const replayed = events.slice(1);
  assert.equal(Number(replayed[0]!.id), gap.to + 1, "the replay starts right after the gap");
  assert.equal(JSON.parse(replayed.at(-1)!.data).id, 2, "the stream ended after the call's answer");
});

test("HTTP+SSE: retry: first, X-Accel-Buffering: no, endpoint + connected, then heartbeat events", async () => {
  const { res, req } = await request(`${url}/mcp/sse?client_id=hb`, "GET", { accept: "text/event-stream" });
  try {
    assert.equal(res.headers["x-accel-buffering"], "no");
    assert.match(String(res.headers["cache-control"]), /no-cache/);
    const events = new Inbox<SseEvent>();
    let raw = "";
    res.on("data", (c: Buffer) => (raw += c.toString()));
    parseSse(res, (e) => events.push(e));
    assert.equal((await events.next()).event, "endpoint");
    const connected = await events.next();
    assert.equal(connected.event, "connected");
    assert.deepEqual(Object.keys(JSON.parse(connected.data)).sort(), ["client_id", "last_seq", "session_id", "transport"]);
    for (let i = 0; i < 3; i++) {
      const hb = await events.next();
      assert.equal(hb.event, "heartbeat");
      assert.equal(hb.id, undefined, "heartbeats carry no id (they are not session messages)");
    }
    assert.ok(raw.startsWith("retry: 1500\n\n"));
  } finally {
    req.destroy();
  }
});
