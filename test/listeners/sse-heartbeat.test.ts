import { test } from "node:test";
import assert from "node:assert/strict";
import { SseHeartbeat } from "../../src/listeners/sse-heartbeat.js";

test("one shared timer beats every open stream and stops with the last one", async () => {
  // The heartbeat's timer is unref'd (it never holds a process open): this one keeps the test's loop alive.
  const keepAlive = setInterval(() => {}, 1000);
  const h = new SseHeartbeat(10);
  assert.equal(h.running, false);
  const beats = new Map<string, number>();
  let both!: () => void;
  const bothBeat = new Promise<void>((r) => (both = r));
  const stream = (name: string) => ({
    beat() {
      beats.set(name, (beats.get(name) ?? 0) + 1);
      if (beats.size === 2) both();
    },
  });
  const a = stream("a");
  const b = stream("b");
  h.add(a);
  h.add(b);
  await bothBeat;
  assert.equal(h.size, 2);
  assert.equal(h.running, true);
  h.delete(a);
  const before = beats.get("a");
  let again!: () => void;
  const bAgain = new Promise<void>((r) => (again = r));
  b.beat = () => again();
  await bAgain;
  assert.equal(beats.get("a"), before, "a closed stream gets no more heartbeats");
  h.delete(b);
  assert.equal(h.size, 0);
  assert.equal(h.running, false, "no stream, no timer");
  clearInterval(keepAlive);
});
