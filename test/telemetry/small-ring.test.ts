// The tracker's ring: bounded, oldest first, the oldest pushed out once full, at every fill level.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SmallRing } from "../../src/telemetry/small-ring.js";

test("keeps at most cap items, oldest first, and returns the one it pushes out", () => {
  for (const cap of [1, 2, 3, 5, 8, 17]) {
    const r = new SmallRing<number>(cap);
    for (let i = 0; i < cap * 3 + 1; i++) {
      const out = r.push(i);
      assert.equal(out, i < cap ? undefined : i - cap, `cap ${cap}, push ${i}`);
      const want = Array.from({ length: Math.min(i + 1, cap) }, (_, k) => i + 1 - Math.min(i + 1, cap) + k);
      assert.deepEqual(r.toArray(), want, `cap ${cap} after ${i + 1}`);
      assert.equal(r.length, want.length);
    }
  }
});

test("a ring of capacity 0 keeps nothing", () => {
  const r = new SmallRing<string>(0);
  assert.equal(r.push("a"), "a");
  assert.deepEqual(r.toArray(), []);
  assert.equal(r.length, 0);
});
