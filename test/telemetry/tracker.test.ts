// The client tracker's memory is bounded and its windows are right.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientTracker, closeMeaning } from "../../src/telemetry/tracker.js";

test("traces, errors and clients are bounded; oldest entries fall out", () => {
  const t = new ClientTracker({ traceEntries: 3, messageEntries: 3, errorEntries: 2, clients: 2 });
  t.connection({ type: "connected", clientId: "a", sessionId: "s", transport: "websocket" });
  for (let i = 0; i < 10; i++) t.message({ direction: "outbound", clientId: "a", sessionId: "s", transport: "websocket", size: i });
  const trace = t.trace("a");
  // Traffic has its own ring: the connect is still there, with the last three messages after it.
  assert.deepEqual(trace.map((e) => e.event), ["connected", "message_sent", "message_sent", "message_sent"]);
  assert.deepEqual(trace.slice(1).map((e) => e.size), [7, 8, 9]);
  assert.ok(trace.every((e) => /^\d{4}-\d{2}-\d{2}T/.test(e.timestamp)));
  for (let i = 0; i < 5; i++) t.error({ type: "request", code: `e${i}`, message: "m", clientId: "a", transport: i % 2 ? "http_sse" : "websocket" });
  assert.deepEqual(t.errors("a").map((e) => e.code), ["e3", "e4"]);
  assert.deepEqual(t.errors("a", "http_sse").map((e) => e.code), ["e3"]);
  t.client({ type: "rate_limited", clientId: "b" });
  t.client({ type: "throttled", clientId: "c", level: "high" });
  assert.equal(t.clientIds().length, 2, "at most 2 clients remembered");
  assert.equal(t.knows("a"), false, "the oldest client was evicted");
  assert.deepEqual(t.counters("c"), { rate_limited: 0, throttled: 1, errors: 0 });
});

test("closes with codes, ages and the error-rate window", () => {
  const t = new ClientTracker();
  t.connection({ type: "connected", clientId: "x", sessionId: "s1", transport: "websocket" });
  t.connection({ type: "disconnected", clientId: "x", sessionId: "s1", transport: "websocket", closeCode: 1006 });
  const [c] = t.closes(60_000);
  assert.equal(c!.code, 1006);
  assert.ok(c!.age_ms! >= 0);
  assert.equal(t.errors("x")[0]!.code, "close_1006");
  assert.deepEqual(t.trace("x").map((e) => e.event), ["connected", "disconnected"]);
  assert.equal(t.recentConnects("x", 60_000), 1);
  for (let i = 0; i < 19; i++) t.message({ direction: "inbound", clientId: "x", sessionId: "s1", transport: "websocket", size: 1 });
  t.error({ type: "request", code: "pool_timeout", message: "m", clientId: "x" });
  assert.equal(t.errorRate(5), 2 / 19);
  assert.deepEqual(t.window(5), { inbound: 19, outbound: 0, errors: 2 });
  assert.match(closeMeaning(1006), /abnormal/);
});

test("a trace entry shows its own fields only, even ones named like the stored time and order", () => {
  const t = new ClientTracker();
  t.connection({ type: "connected", clientId: "f", sessionId: "s1", transport: "http_sse" });
  assert.ok(Math.abs(t.connectedAt("s1")! - Date.now()) < 5000, "connect times are wall-clock times");
  t.message({ direction: "inbound", clientId: "f", sessionId: "s1", transport: "http_sse", size: 10, method: "notifications/initialized" });
  t.client({ type: "gap", clientId: "f", sessionId: "s1", from: 1, to: 3, at: "field", n: "field" });
  t.sessionEnded("f", "s1", "http_sse", "expired");
  const trace = t.trace("f");
  assert.deepEqual(trace.map((e) => e.event), ["connected", "message_received", "gap", "session_ended"]);
  const [connected, received, gap, ended] = trace;
  assert.deepEqual(Object.keys(connected!).sort(), ["event", "session_id", "timestamp", "transport"]);
  assert.equal(Object.getOwnPropertySymbols(connected!).length, 0, "no stored keys leak into the trace");
  assert.deepEqual({ ...received!, timestamp: "" }, { timestamp: "", event: "message_received", transport: "http_sse", size: 10, method: "notifications/initialized" });
  assert.equal(gap!.at, "field");
  assert.equal(gap!.n, "field");
  assert.equal(gap!.session_id, "s1");
  assert.equal(ended!.reason, "expired");
  assert.ok(Math.abs(Date.parse(connected!.timestamp) - Date.now()) < 5000, "timestamps are wall-clock times");
});
