import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayBuffer } from "../../src/session/replay-buffer.js";

test("bounded by count; evicted range is remembered", () => {
  const b = new ReplayBuffer(3, 1e6);
  for (let i = 1; i <= 5; i++) b.push({ seq: i, stream: "s", json: `m${i}` });
  assert.equal(b.size, 3);
  assert.equal(b.evictedThrough, 2);
  assert.deepEqual(b.after(0).map((e) => e.seq), [3, 4, 5]);
});

test("bounded by bytes", () => {
  const b = new ReplayBuffer(100, 10);
  for (let i = 1; i <= 5; i++) b.push({ seq: i, stream: "s", json: "xxxx" });
  assert.ok(b.bytes <= 10);
  assert.equal(b.evictedThrough, 3);
});

test("after() filters by stream and ackThrough() trims", () => {
  const b = new ReplayBuffer(100, 1e6);
  b.push({ seq: 1, stream: "a", json: "1" });
  b.push({ seq: 2, stream: "b", json: "2" });
  b.push({ seq: 3, stream: "a", json: "3" });
  assert.deepEqual(b.after(1, "a").map((e) => e.seq), [3]);
  assert.equal(b.streamOf(2), "b");
  b.ackThrough(2);
  assert.deepEqual(b.after(0).map((e) => e.seq), [3]);
});

test("dropHead() drops only the oldest entry, only when it is that seq (the initialize result, ADR 0200)", () => {
  const b = new ReplayBuffer(100, 1e6);
  b.push({ seq: 1, stream: "sse", json: "init" });
  b.push({ seq: 2, stream: "sse", json: "next" });
  b.dropHead(2);
  assert.deepEqual(b.after(0).map((e) => e.seq), [1, 2], "not the head: kept");
  b.dropHead(1);
  assert.deepEqual(b.after(0).map((e) => e.seq), [2]);
  assert.equal(b.bytes, 4);
  assert.equal(b.evictedThrough, 0, "a confirmed message is not a gap");
});

test("a session's initialize result leaves its replay buffer on notifications/initialized, and no ack is recorded", async () => {
  const { Session } = await import("../../src/session/session.js");
  const s = new Session("s1", "c", "http_sse", { size: 100, bytes: 1e6 });
  s.noteInitializeReply(() => s.record('{"result":"init"}', "sse"));
  s.record('{"method":"later"}', "sse");
  s.releaseInitializeReply();
  assert.deepEqual(s.replay.after(0).map((e) => e.json), ['{"method":"later"}']);
  assert.equal(s.ackedSeq, 0, "backpressure's ack opt-in stays off");
  // Nothing recorded (a JSON answer on Streamable HTTP): nothing to drop.
  const t = new Session("s2", "c", "streamable_http", { size: 100, bytes: 1e6 });
  t.noteInitializeReply(() => {});
  t.record('{"method":"first"}', "get");
  t.releaseInitializeReply();
  assert.equal(t.replay.size, 1);
});
