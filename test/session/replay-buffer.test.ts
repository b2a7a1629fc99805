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
