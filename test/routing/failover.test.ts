import { test } from "node:test";
import assert from "node:assert/strict";
import { FlapDamper } from "../../src/routing/failover.js";

test("more than flap_limit failovers within flap_window hold the target, with a doubling hold-down", () => {
  const policy = { flap_limit: 3, flap_window: 1000, flap_hold_down: 100 };
  const d = new FlapDamper(() => policy);
  let t = 10_000;
  for (let i = 0; i < 3; i++) assert.equal(d.record("up#1", "up", (t += 10)), 0);
  assert.equal(d.isHeld("up#1", t), false);
  assert.equal(d.record("up#1", "up", (t += 10)), 100, "4th failover in the window trips");
  assert.equal(d.isHeld("up#1", t + 50), true);
  assert.equal(d.isHeld("up#1", t + 101), false);
  const report = d.report(undefined, t + 50);
  assert.equal(report.length, 1);
  assert.equal(report[0]!.hold_down_ms, 100);
  t += 200;
  for (let i = 0; i < 3; i++) d.record("up#1", "up", (t += 10));
  assert.equal(d.record("up#1", "up", (t += 10)), 200, "second trip doubles");
  t += 5000;
  d.prune(t);
  for (let i = 0; i < 3; i++) d.record("up#1", "up", (t += 10));
  assert.equal(d.record("up#1", "up", (t += 10)), 100, "quiet for a window: back to the first hold-down");
});

test("failovers spread wider than the window never trip; client records are reported per client", () => {
  const d = new FlapDamper(() => ({ flap_limit: 2, flap_window: 100, flap_hold_down: 1000 }));
  let t = 0;
  for (let i = 0; i < 10; i++) assert.equal(d.record("c1@up", "up", (t += 60), "c1"), 0);
  d.record("c2@up", "up", t, "c2");
  assert.deepEqual(d.report("c2", t).map((r) => r.target), ["c2@up"]);
  assert.equal(d.release("c2@up"), true);
  assert.deepEqual(d.report("c2", t), []);
});
