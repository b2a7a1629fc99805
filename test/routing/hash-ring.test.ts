import { test } from "node:test";
import assert from "node:assert/strict";
import { HashRing, hashKey } from "../../src/routing/hash-ring.js";

const CLIENTS = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);

function assignment(ring: HashRing): Map<string, string> {
  return new Map(CLIENTS.map((c) => [c, ring.get(c)!]));
}

function moved(a: Map<string, string>, b: Map<string, string>): number {
  let n = 0;
  for (const [k, v] of a) if (b.get(k) !== v) n++;
  return n;
}

test("hashKey is stable and spreads sequential ids", () => {
  assert.equal(hashKey("client-1"), hashKey("client-1"));
  const buckets = new Array(16).fill(0);
  for (const c of CLIENTS) buckets[hashKey(c) >>> 28]++;
  for (const b of buckets) assert.ok(b > 500 && b < 750, `bucket ${b} of 10000/16`);
});

test("every client maps to a replica and the same one each time (affinity)", () => {
  const ring = new HashRing([{ id: "a#0", weight: 1 }, { id: "a#1", weight: 1 }, { id: "a#2", weight: 1 }], 150);
  const first = assignment(ring);
  const again = assignment(new HashRing([{ id: "a#0", weight: 1 }, { id: "a#1", weight: 1 }, { id: "a#2", weight: 1 }], 150));
  assert.equal(moved(first, again), 0);
  const counts = new Map<string, number>();
  for (const v of first.values()) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const n of counts.values()) assert.ok(n > 10_000 / 3 * 0.8 && n < 10_000 / 3 * 1.2, `balanced: ${[...counts.values()]}`);
});

test("adding a 4th replica moves about 1/4 of 10,000 clients, all of them to the new one", () => {
  const ring = new HashRing([{ id: "a#0", weight: 1 }, { id: "a#1", weight: 1 }, { id: "a#2", weight: 1 }], 150);
  const before = assignment(ring);
  ring.add("a#3");
  const after = assignment(ring);
  const n = moved(before, after);
  assert.ok(n > 10_000 * 0.25 * 0.75 && n < 10_000 * 0.25 * 1.25, `moved ${n}`);
  for (const [k, v] of after) if (before.get(k) !== v) assert.equal(v, "a#3", "a moved client only goes to the new replica");
});

test("removing one of 4 replicas moves only its clients (about 1/4)", () => {
  const ring = new HashRing(["a#0", "a#1", "a#2", "a#3"].map((id) => ({ id, weight: 1 })), 150);
  const before = assignment(ring);
  ring.remove("a#1");
  const after = assignment(ring);
  const n = moved(before, after);
  const owned = [...before.values()].filter((v) => v === "a#1").length;
  assert.equal(n, owned, "exactly the removed replica's clients move");
  assert.ok(n > 10_000 * 0.25 * 0.75 && n < 10_000 * 0.25 * 1.25, `moved ${n}`);
});

test("weights: a weight-2 replica gets twice the vnodes and about twice the clients", () => {
  const ring = new HashRing([{ id: "a#0", weight: 1 }, { id: "a#1", weight: 2 }], 150);
  const d = ring.distribution();
  assert.deepEqual(d.map((x) => x.vnodes), [150, 300]);
  assert.ok(Math.abs(d[0]!.share + d[1]!.share - 1) < 1e-9);
  const heavy = [...assignment(ring).values()].filter((v) => v === "a#1").length;
  assert.ok(heavy > 10_000 * 0.6 && heavy < 10_000 * 0.74, `weight-2 replica has ${heavy}`);
});

test("order() lists the owner first, then every other replica once (the failover order)", () => {
  const ring = new HashRing(["a#0", "a#1", "a#2"].map((id) => ({ id, weight: 1 })), 150);
  for (const c of CLIENTS.slice(0, 200)) {
    const order = ring.order(c);
    assert.equal(order.length, 3);
    assert.equal(new Set(order).size, 3);
    assert.equal(ring.ids[order[0]!], ring.get(c));
    assert.equal(ring.indexOf(c), order[0]);
  }
  assert.equal(new HashRing([], 150).get("x"), undefined);
  assert.deepEqual(new HashRing([], 150).order("x"), []);
});

test("failing over from a dead replica spreads its clients over the others (not all onto one)", () => {
  const ring = new HashRing(["a#0", "a#1", "a#2", "a#3"].map((id) => ({ id, weight: 1 })), 150);
  const next = new Map<string, number>();
  for (const c of CLIENTS) {
    const order = ring.order(c);
    if (order[0] !== 0) continue;
    next.set(ring.ids[order[1]!]!, (next.get(ring.ids[order[1]!]!) ?? 0) + 1);
  }
  assert.equal(next.size, 3);
  for (const n of next.values()) assert.ok(n > 400, `spread ${[...next.values()]}`);
});
