import { test } from "node:test";
import assert from "node:assert/strict";
import { LeasePool, type CheckoutFailure, type PoolPolicy } from "../../src/upstream/pool.js";

function pool(p: Partial<PoolPolicy> = {}) {
  const policy: PoolPolicy = { size: 2, overflow: 1, strategy: "fifo", checkout_timeout: 5000, idle_timeout: 0, ...p };
  const granted: string[] = [];
  const failed: Array<{ token: string; why: CheckoutFailure; waited: number }> = [];
  let onFail: (() => void) | undefined;
  const lp = new LeasePool<string>("up", () => policy, {
    granted: (t) => granted.push(t),
    failed: (t, _p, why, waited) => {
      failed.push({ token: t, why, waited });
      onFail?.();
    },
  });
  return { lp, policy, granted, failed, failedOnce: () => new Promise<void>((r) => (onFail = r)) };
}

test("size + overflow leases, then waiting; health_check figures", () => {
  const { lp } = pool();
  assert.equal(lp.tryAcquire(), true);
  assert.equal(lp.tryAcquire(), true);
  assert.equal(lp.tryAcquire(), true, "overflow lease");
  assert.equal(lp.tryAcquire(), false);
  lp.enqueue("w1");
  const h = lp.health(1);
  assert.deepEqual(h, { upstream: "up", size: 2, overflow: 1, in_use: 3, available: 0, overflow_in_use: 1, waiting: 1, exhaustion_ratio: 1, idle_connections: 1, timeouts: 0 });
  lp.clear();
});

test("fifo serves the oldest waiter first, lifo the newest", () => {
  for (const strategy of ["fifo", "lifo"] as const) {
    const { lp, granted } = pool({ size: 1, overflow: 0, strategy });
    assert.equal(lp.tryAcquire(), true);
    lp.enqueue("a");
    lp.enqueue("b");
    lp.enqueue("c");
    lp.release();
    lp.release();
    lp.release();
    assert.deepEqual(granted, strategy === "fifo" ? ["a", "b", "c"] : ["c", "b", "a"]);
    assert.equal(lp.inUse, 1);
  }
});

test("a waiter past checkout_timeout fails with timeout and is counted", async () => {
  const { lp, failed, failedOnce } = pool({ size: 1, overflow: 0, checkout_timeout: 30 });
  lp.tryAcquire();
  const done = failedOnce();
  lp.enqueue("slow");
  await done;
  assert.equal(failed[0]!.why, "timeout");
  assert.equal(lp.timeouts, 1);
  assert.equal(lp.waiting, 0);
  assert.equal(lp.health().timeouts, 1);
});

test("growing the pool at runtime serves waiters at once; clear() fails the rest", () => {
  const { lp, policy, granted, failed } = pool({ size: 1, overflow: 0 });
  lp.tryAcquire();
  lp.enqueue("a");
  lp.enqueue("b");
  lp.enqueue("c");
  policy.size = 2;
  lp.reconfigure();
  assert.deepEqual(granted, ["a"]);
  assert.equal(lp.clear(), 2);
  assert.deepEqual(failed.map((f) => f.why), ["cleared", "cleared"]);
  assert.equal(lp.tryAcquire(), false, "both leases still out");
});
