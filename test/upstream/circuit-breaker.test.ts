import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { once } from "node:events";
import { EventEmitter } from "node:events";
import { CircuitBreaker, type BreakerEvent } from "../../src/upstream/circuit-breaker.js";
import { channels } from "../../src/telemetry/channels.js";

function breaker(policy = { failure_threshold: 3, reset_timeout: 50, half_open_successes: 2 }) {
  const events = new EventEmitter();
  const b = new CircuitBreaker("up#0", "upstream", () => policy);
  b.onTransition = (_b, from, to) => events.emit("t", { from, to });
  return { b, events, policy };
}

test("closed -> open after failure_threshold consecutive failures; a success in between resets the count", () => {
  const { b } = breaker();
  b.failure();
  b.failure();
  b.success();
  b.failure();
  b.failure();
  assert.equal(b.state, "closed");
  b.failure("boom");
  assert.equal(b.state, "open");
  assert.equal(b.tryAcquire(), false);
  assert.ok(b.info().opened_at);
  b.dispose();
});

test("open -> half_open after reset_timeout; one probe at a time; enough successes close it", async () => {
  const { b, events } = breaker();
  const seen: BreakerEvent[] = [];
  const onEvent = (e: unknown) => {
    if ((e as BreakerEvent).target === "up#0") seen.push(e as BreakerEvent);
  };
  diagnostics_channel.subscribe(channels.breaker.name, onEvent);
  // The breaker's timer is unref'd (it must never hold a process open): keep this test's loop alive, bounded.
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    b.trip("connection lost");
    assert.equal(b.state, "open");
    await once(events, "t"); // -> half_open on its timer
    assert.equal(b.state, "half_open");
    assert.equal(b.tryAcquire(), true);
    assert.equal(b.tryAcquire(), false, "second probe refused while one runs");
    b.success();
    assert.equal(b.state, "half_open", "half_open_successes is 2");
    assert.equal(b.tryAcquire(), true);
    b.success();
    assert.equal(b.state, "closed");
    assert.deepEqual(seen.map((e) => `${e.from}>${e.to}`), ["closed>open", "open>half_open", "half_open>closed"]);
    assert.equal(seen[0]!.kind, "upstream");
  } finally {
    clearTimeout(keepAlive);
    diagnostics_channel.unsubscribe(channels.breaker.name, onEvent);
    b.dispose();
  }
});

test("a failed probe opens it again; release() frees an unused probe slot; reset() closes", async () => {
  const { b, events } = breaker();
  b.trip();
  b.halfOpen();
  assert.equal(b.state, "half_open");
  assert.equal(b.tryAcquire(), true);
  b.release();
  assert.equal(b.tryAcquire(), true, "slot freed");
  b.failure("probe failed");
  assert.equal(b.state, "open");
  b.reset();
  assert.equal(b.state, "closed");
  assert.equal(b.failures, 0);
  assert.equal(b.info().opened_at, null);
  b.dispose();
  events.removeAllListeners();
});

test("thresholds are read at use time (runtime config change)", () => {
  const { b, policy } = breaker();
  policy.failure_threshold = 1;
  b.failure();
  assert.equal(b.state, "open");
  b.dispose();
});
