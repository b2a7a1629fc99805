import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { Session, type DownstreamSink } from "../../src/session/session.js";
import { attachResumed, canSwitch, parseSeq, resumePlan } from "../../src/session/continuity.js";
import { classifyClientFrame, messageFrame } from "../../src/listeners/ws-envelope.js";
import { HeartbeatSweeper } from "../../src/listeners/ws-heartbeat.js";
import { decodeFrame, messageFrame as phxMessageFrame, messagePrefix } from "../../src/listeners/phoenix-frames.js";

function session(size = 5): Session {
  return new Session("s1", "c1", "websocket", { size, bytes: 1e6 });
}

test("resumePlan: replays after the client's seq, across streams, in order", () => {
  const s = session(100);
  for (let i = 1; i <= 6; i++) s.record(`{"n":${i}}`, i % 2 ? "ws" : "7");
  const plan = resumePlan(s, 3);
  assert.equal(plan.gap, undefined);
  assert.deepEqual(plan.entries.map((e) => e.seq), [4, 5, 6]);
  assert.deepEqual(resumePlan(s, 3, "7").entries.map((e) => e.seq), [4, 6], "one stream only when asked");
  assert.deepEqual(resumePlan(s, 6).entries, []);
});

test("resumePlan: what fell out of the buffer is a gap, reported before the rest", () => {
  const s = session(5);
  for (let i = 1; i <= 10; i++) s.record(`{"n":${i}}`, "ws");
  const plan = resumePlan(s, 2);
  assert.deepEqual(plan.gap, { from: 3, to: 5 });
  assert.deepEqual(plan.entries.map((e) => e.seq), [6, 7, 8, 9, 10]);
  assert.equal(resumePlan(s, 5).gap, undefined, "nothing missing after 5");
});

test("resumePlan: acknowledged messages are never a gap; priming events are skipped", () => {
  const s = session(3);
  for (let i = 1; i <= 6; i++) s.record(`{"n":${i}}`, "ws");
  s.ack(4);
  assert.equal(resumePlan(s, 2).gap, undefined, "the client acked through 4: 3..4 are not missing");
  const t = session(10);
  t.record("", "9");
  t.record('{"a":1}', "9");
  assert.deepEqual(resumePlan(t, 0, "9").entries.map((e) => e.seq), [2]);
});

test("parseSeq and canSwitch", () => {
  assert.equal(parseSeq("42"), 42);
  assert.equal(parseSeq(7), 7);
  for (const bad of ["", "-1", "1.5", "abc", "9".repeat(20), undefined, null, -3, 1.5]) assert.equal(parseSeq(bad), undefined, String(bad));
  assert.ok(canSwitch("websocket", "http_sse"));
  assert.ok(canSwitch("http_sse", "phoenix"));
  assert.ok(canSwitch("streamable_http", "streamable_http"));
  assert.ok(!canSwitch("streamable_http", "websocket"));
  assert.ok(!canSwitch("websocket", "streamable_http"));
});

test("attachResumed closes the previous connection and publishes transport_switch", () => {
  const s = session();
  const closed: number[] = [];
  const sink = (kind: DownstreamSink["kind"]): DownstreamSink => ({ kind, deliver: () => true, close: (code) => void closed.push(code ?? 0) });
  const ws = sink("websocket");
  s.attach(ws);
  const events: unknown[] = [];
  const on = (e: unknown) => events.push(e);
  diagnostics_channel.subscribe("mcp-gateway:client", on);
  try {
    attachResumed(s, sink("http_sse"));
    assert.deepEqual(closed, [1000]);
    assert.equal(s.transport, "http_sse");
    assert.deepEqual(events, [{ type: "transport_switch", clientId: "c1", sessionId: "s1", from: "websocket", to: "http_sse" }]);
  } finally {
    diagnostics_channel.unsubscribe("mcp-gateway:client", on);
  }
});

test("detach stamps the TTL clock and the resume point", () => {
  const s = session();
  const sink: DownstreamSink = { kind: "websocket", deliver: () => true, close: () => {} };
  s.attach(sink);
  s.record("{}", "ws");
  s.record("{}", "ws");
  s.lastActivity = 0;
  s.detach(sink);
  assert.equal(s.detachedAtSeq, 2);
  assert.ok(s.lastActivity > 0);
});

test("envelope frames", () => {
  assert.deepEqual(JSON.parse(messageFrame(3, '{"jsonrpc":"2.0","id":1,"result":{}}')), { type: "message", seq: 3, message: { jsonrpc: "2.0", id: 1, result: {} } });
  assert.deepEqual(classifyClientFrame({ type: "ack", seq: 5 }), { kind: "ack", seq: 5 });
  assert.deepEqual(classifyClientFrame({ type: "message", message: { jsonrpc: "2.0", method: "x" } }), { kind: "message", message: { jsonrpc: "2.0", method: "x" } });
  assert.deepEqual(classifyClientFrame({ jsonrpc: "2.0", method: "x" }), { kind: "message", message: { jsonrpc: "2.0", method: "x" } }, "bare JSON-RPC accepted");
  assert.equal(classifyClientFrame({ type: "end" }).kind, "end");
  assert.equal(classifyClientFrame({ type: "ack", seq: -1 }).kind, "invalid");
  assert.equal(classifyClientFrame({ type: "nope" }).kind, "invalid");
});

test("phoenix frames", () => {
  assert.deepEqual(decodeFrame('["1","2","mcp:gateway","phx_join",{}]'), { joinRef: "1", ref: "2", topic: "mcp:gateway", event: "phx_join", payload: {} });
  assert.equal(decodeFrame('{"topic":"x"}'), undefined, "vsn 1.0.0 object frames are not spoken");
  assert.deepEqual(JSON.parse(phxMessageFrame(messagePrefix("4"), 9, '{"jsonrpc":"2.0","method":"m"}')), ["4", null, "mcp:gateway", "message", { id: 9, seq: 9, message: { jsonrpc: "2.0", method: "m" } }]);
});

test("heartbeat sweeper: pings a silent peer, cuts it within ping_interval + pong_timeout, keeps a live one", () => {
  const settings = { ping_interval: 100, pong_timeout: 80, idle_timeout: 1000 };
  const sweeper = new HeartbeatSweeper(() => settings);
  const tick = HeartbeatSweeper.tickFor(settings);
  assert.equal(tick, 10);
  const fake = () => {
    const f = { readyState: 1, pings: 0, handlers: {} as Record<string, () => void>, ping() { f.pings++; }, on(ev: string, h: () => void) { f.handlers[ev] = h; } };
    return f;
  };
  const dead = fake();
  const live = fake();
  const deaths: Array<[string, number]> = [];
  const t0 = Date.now();
  const d = sweeper.track(dead as never, (r) => deaths.push([r, now]));
  const l = sweeper.track(live as never, () => assert.fail("live peer cut"));
  sweeper.stop();
  d.lastSeen = l.lastSeen = t0;
  let now = t0;
  for (; now <= t0 + 1000; now += tick) {
    sweeper.sweep(now, tick);
    if (l.pingAt > 0) {
      live.handlers.pong!.call(live); // the live peer answers at once (an EventEmitter calls listeners with the socket as `this`)
      l.lastSeen = now; // (on the simulated clock)
    }
  }
  assert.equal(deaths.length, 1);
  assert.equal(deaths[0]![0], "pong_timeout");
  assert.ok(deaths[0]![1] - t0 <= settings.ping_interval + settings.pong_timeout, `cut at +${deaths[0]![1] - t0} ms`);
  assert.equal(dead.pings, 1, "one unanswered ping, then the cut");
  assert.ok(live.pings >= 5);
});

test("replay buffer remembers the streams of departed messages (Streamable HTTP resume past the buffer)", async () => {
  const { ReplayBuffer } = await import("../../src/session/replay-buffer.js");
  const b = new ReplayBuffer(3, 1e6);
  b.push({ seq: 1, stream: "7", json: "" });
  b.push({ seq: 2, stream: "7", json: "p" });
  b.push({ seq: 3, stream: "7", json: "answer", last: true });
  b.push({ seq: 4, stream: "get", json: "x" });
  b.push({ seq: 5, stream: "ws", json: "y" });
  b.push({ seq: 6, stream: "9", json: "z" });
  assert.equal(b.evictedThrough, 3);
  assert.equal(b.streamOf(1), "7", "evicted, still known");
  assert.ok(b.departedEnd("7"), "stream 7's answer left the buffer");
  assert.ok(!b.departedEnd("9"));
  b.ackThrough(5);
  assert.equal(b.streamOf(4), "get", "acked entries are remembered too");
});
