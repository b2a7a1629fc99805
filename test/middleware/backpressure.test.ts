/**
 * Backpressure: the controller's levels with a recording sink (ack-based
 * levels only for clients that opted in, socket-level for everyone), then end
 * to end: a raw WebSocket client that stops reading while server-everything
 * answers it, with a second client calling at the same time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ConfigStore, validateConfig } from "../../src/config/index.js";
import { Session, type DownstreamSink } from "../../src/session/session.js";
import type { JsonRpcMessage } from "../../src/protocol/jsonrpc.js";
import { BackpressureController, backpressureLevel, isCritical } from "../../src/middleware/backpressure.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

class RecordingSink implements DownstreamSink {
  readonly kind = "websocket" as const;
  delivered: JsonRpcMessage[] = [];
  closed: Array<{ code?: number; reason?: string }> = [];
  buffered = 0;
  onDeliver?: () => void;
  deliver(message: JsonRpcMessage, _related: unknown, session: Session): boolean {
    session.record(JSON.stringify(message), "ws");
    this.delivered.push(message);
    this.onDeliver?.();
    return true;
  }
  close(code?: number, reason?: string): void {
    this.closed.push({ code, reason });
  }
  bufferedBytes(): number {
    return this.buffered;
  }
}

const progress = (n: number): JsonRpcMessage => ({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "t", progress: n } });
const logMsg: JsonRpcMessage = { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x" } };
const response = (id: number): JsonRpcMessage => ({ jsonrpc: "2.0", id, result: {} });
const serverRequest: JsonRpcMessage = { jsonrpc: "2.0", id: "gw-1", method: "sampling/createMessage", params: {} };

function setup(bp: Record<string, number> = {}) {
  const config = new ConfigStore(validateConfig({ logging: { dir: "", stdout: false }, backpressure: bp }));
  const controller = new BackpressureController(config);
  const session = new Session("s1", "client-1", "websocket", { size: 10_000, bytes: 64 * 1024 * 1024 });
  const sink = new RecordingSink();
  session.attach(sink);
  session.gate = controller;
  return { controller, session, sink };
}

/** Sends `n` responses (critical) so the session has `n` unacked messages. */
function fill(session: Session, n: number, from = 1000): void {
  for (let i = 0; i < n; i++) session.send(response(from + i), from + i);
}

describe("BackpressureController levels", () => {
  const events: Array<{ type: string; level?: string; clientId: string }> = [];
  const onClient = (e: unknown) => events.push(e as (typeof events)[number]);
  before(() => subscribe("mcp-gateway:client", onClient));
  after(() => unsubscribe("mcp-gateway:client", onClient));

  test("only progress and log notifications are non-critical", () => {
    assert.equal(isCritical(progress(1)), false);
    assert.equal(isCritical(logMsg), false);
    assert.equal(isCritical(response(1)), true);
    assert.equal(isCritical(serverRequest), true);
    assert.equal(isCritical({ jsonrpc: "2.0", method: "notifications/tools/list_changed" }), true);
  });

  test("a client that never acks is never throttled by pending acks", () => {
    const { session, sink } = setup();
    fill(session, 300);
    for (let i = 0; i < 10; i++) session.send(progress(i));
    assert.equal(sink.delivered.length, 310);
    assert.equal(backpressureLevel(session).level, "none");
    assert.equal(backpressureLevel(session).opted_in, false);
  });

  test("opted in, pending > high_pending: non-critical dropped, responses and requests delivered", () => {
    const { session, sink } = setup();
    fill(session, 1);
    session.ack(1); // opted in
    fill(session, 150);
    const before = sink.delivered.length;
    session.send(progress(1));
    session.send(logMsg);
    session.send(response(1), 1);
    session.send(serverRequest);
    const got = sink.delivered.slice(before);
    assert.deepEqual(got, [response(1), serverRequest]);
    const info = backpressureLevel(session);
    assert.equal(info.level, "high");
    assert.equal(info.dropped, 2);
    assert.ok(info.pending_acks > 100);
    assert.ok(events.some((e) => e.type === "throttled" && e.level === "high" && e.clientId === "client-1"));
    // Acking everything brings it back to normal.
    session.ack(session.lastSeq);
    session.send(progress(2));
    assert.deepEqual(sink.delivered.at(-1), progress(2));
    assert.equal(backpressureLevel(session).level, "none");
  });

  test("opted in, pending > medium_pending: half the non-critical messages are delivered", () => {
    const { session, sink } = setup();
    fill(session, 1);
    session.ack(1);
    fill(session, 60);
    const before = sink.delivered.length;
    for (let i = 0; i < 10; i++) session.send(progress(i));
    const delivered = sink.delivered.slice(before).length;
    // Each delivery adds a pending ack; it may cross 100 no earlier than 40 more messages, so it stays medium.
    assert.equal(delivered, 5);
    assert.equal(backpressureLevel(session).level, "medium");
  });

  test("a full socket buffer: non-critical dropped for everyone; a critical message closes the client (1013)", () => {
    const { session, sink } = setup({ max_buffered_bytes: 1000 });
    sink.buffered = 5000;
    assert.equal(session.send(progress(1)), false);
    assert.equal(sink.delivered.length, 0);
    assert.equal(session.send(response(7), 7), false);
    assert.equal(sink.delivered.length, 0, "nothing more is buffered");
    assert.equal(sink.closed.length, 1);
    assert.equal(sink.closed[0]!.code, 1013);
    assert.match(sink.closed[0]!.reason!, /backpressure_dropped/);
    assert.equal(session.closeReason, "backpressure_dropped");
    assert.ok(events.some((e) => e.type === "backpressure_dropped" && e.clientId === "client-1"));
    // Once drained, delivery resumes.
    sink.buffered = 0;
    assert.equal(session.send(response(8), 8), true);
    assert.deepEqual(sink.delivered, [response(8)]);
  });

  test("lag over lag_threshold bundles messages and flushes them in order every bundle_interval", async () => {
    const { session, sink } = setup({ lag_threshold: 30, bundle_interval: 20 });
    sink.buffered = 10; // bytes stuck in the socket since the session started
    session.send(response(1), 1);
    assert.equal(sink.delivered.length, 1);
    // Lag is age: let it pass the 30 ms threshold.
    await new Promise((r) => setTimeout(r, 60));
    session.send(progress(1));
    session.send(response(2), 2);
    assert.equal(sink.delivered.length, 1, "held for the bundle");
    assert.equal(backpressureLevel(session).level, "lagging");
    assert.equal(backpressureLevel(session).queued, 2);
    sink.buffered = 0;
    const flushed = new Promise<void>((resolve) => (sink.onDeliver = () => sink.delivered.length === 3 && resolve()));
    await flushed;
    assert.deepEqual(sink.delivered.slice(1), [progress(1), response(2)]);
  });
});

describe("a client that acks once, then falls behind (real sockets, server-everything upstream)", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()], rate_limiting: { enabled: false } }));
  });
  after(() => gateway?.close());

  test("past high_pending its progress notifications are dropped; the result still arrives; the level is visible", async () => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=lazy-acker`, "mcp");
    await once(ws, "open");
    const received: Array<{ id?: number; method?: string }> = [];
    let resolveResult!: () => void;
    const result = new Promise<void>((r) => (resolveResult = r));
    ws.on("message", (data) => {
      const m = JSON.parse(String(data));
      received.push(m);
      if (m.id === 2) resolveResult();
    });
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "lazy", version: "1" } } }));
    while (!received.some((m) => m.id === 1)) await once(ws, "message");
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    // Opt in to ack-based flow control (seq 1 was the initialize answer), then never ack again.
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/gateway/ack", params: { seq: 1 } }));
    const session = gateway.registry.byClient("lazy-acker")[0]!;
    const deadline = Date.now() + 5000;
    while (session.ackedSeq !== 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 300 }, _meta: { progressToken: "p" } } }));
    await result;
    const progress = received.filter((m) => m.method === "notifications/progress").length;
    // 50 full-rate, ~25 of the next 50 at half rate, then none: well under the 300 sent.
    assert.ok(progress >= 50 && progress < 120, `${progress} progress notifications delivered of 300`);
    const info = backpressureLevel(session);
    assert.equal(info.opted_in, true);
    assert.equal(info.level, "high");
    assert.ok(info.dropped >= 180, `dropped ${info.dropped}`);
    ws.close();
  });
});

describe("a client that stops reading (real sockets, server-everything upstream)", () => {
  const CAP = 256 * 1024;
  let gateway: Gateway;
  let url: string;
  const events: Array<{ type: string; clientId: string }> = [];
  const onClient = (e: unknown) => events.push(e as (typeof events)[number]);
  before(async () => {
    subscribe("mcp-gateway:client", onClient);
    ({ gateway, url } = await startTestGateway({
      upstreams: [everythingUpstream()],
      rate_limiting: { enabled: false },
      backpressure: { max_buffered_bytes: CAP },
    }));
  });
  after(async () => {
    unsubscribe("mcp-gateway:client", onClient);
    await gateway?.close();
  });

  test("gateway-side buffering stays bounded and a second client keeps being served", async (t) => {
    const slow = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=slow-reader`, "mcp");
    await once(slow, "open");
    slow.on("error", () => {});
    const initialized = new Promise<void>((resolve) => slow.once("message", () => resolve()));
    slow.send(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "slow", version: "1" } } }));
    await initialized;
    slow.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    // Stop reading: the kernel buffers fill, then the gateway's.
    (slow as unknown as { _socket: import("node:net").Socket })._socket.pause();

    const fast = new Client({ name: "fast", version: "1" });
    await fast.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=fast-reader`)));

    const session = gateway.registry.byClient("slow-reader")[0]!;
    const payload = "z".repeat(32 * 1024);
    let maxBuffered = 0;
    let fastCalls = 0;
    let sent = 0;
    const dropped = () => events.some((e) => e.type === "backpressure_dropped" && e.clientId === "slow-reader");
    const deadline = Date.now() + 20_000;
    // Up to 2000 echoes of 32 KB (64 MB) — far more than socket buffers hold — interleaved with the fast client's calls.
    for (let i = 1; i <= 2000 && !dropped() && Date.now() < deadline; i++) {
      sent = i;
      if (slow.readyState === WebSocket.OPEN) slow.send(JSON.stringify({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "echo", arguments: { message: payload } } }));
      if (i % 20 === 0) {
        const r = await fast.callTool({ name: "echo", arguments: { message: `fast ${i}` } });
        assert.match(JSON.stringify(r.content), new RegExp(`fast ${i}`));
        fastCalls++;
        maxBuffered = Math.max(maxBuffered, session.sink?.bufferedBytes?.() ?? 0);
      }
    }
    // Let in-flight answers arrive, sampling the slow client's buffer meanwhile.
    for (let i = 0; i < 20; i++) {
      await fast.callTool({ name: "echo", arguments: { message: "after" } });
      maxBuffered = Math.max(maxBuffered, session.sink?.bufferedBytes?.() ?? 0);
    }
    assert.ok(dropped(), "the slow client was closed with backpressure_dropped");
    assert.equal(session.closeReason, "backpressure_dropped");
    // Bounded: the cap plus at most one message that was admitted just under it.
    assert.ok(maxBuffered <= CAP + 64 * 1024, `gateway buffered ${maxBuffered} bytes for the slow client`);
    assert.ok(fastCalls > 0);
    t.diagnostic(`slow client closed after ${sent} echoes of 32 KB; max gateway-side buffer ${maxBuffered} bytes (cap ${CAP}); fast client calls ${fastCalls + 20}`);
    await fast.close();
    slow.terminate();
  });
});
