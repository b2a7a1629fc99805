import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplicaRouter, type ReplicaHealth } from "../../src/routing/replica-router.js";
import { FlapDamper } from "../../src/routing/failover.js";
import { CircuitBreaker } from "../../src/upstream/circuit-breaker.js";
import type { UpstreamGroup } from "../../src/upstream/manager.js";
import type { Replica } from "../../src/upstream/replica.js";

/** Replicas reduced to what routing reads: id, weight, state and a connection state. */
function setup(n: number) {
  const replicas = Array.from({ length: n }, (_, i) => ({ spec: { id: `u#${i}`, index: i, weight: 1 }, state: "ready", connection: { state: "ready" } as { state: string } | null, failures: 0 }));
  const group = { name: "u", replicas, ready: () => replicas.filter((r) => r.state === "ready") } as unknown as UpstreamGroup;
  const damper = new FlapDamper(() => ({ flap_limit: 2, flap_window: 60_000, flap_hold_down: 10_000 }));
  const router = new ReplicaRouter(damper, () => 150);
  const policy = () => ({ failure_threshold: 2, reset_timeout: 60_000, half_open_successes: 1 });
  const health: ReplicaHealth[] = replicas.map((replica, index) => ({
    replica: replica as unknown as Replica,
    group,
    index,
    breaker: new CircuitBreaker(replica.spec.id, "upstream", policy),
    failures: 0,
    pingFailures: 0,
    skipped: false,
    lastUsed: 0,
    pinging: false,
  }));
  const route = router.add(group, health);
  return { replicas, group, router, route, health, damper };
}

test("affinity: a client keeps its ring owner; a skipped, down or open replica is passed over for the next on the ring", () => {
  const { router, route, health, replicas, group } = setup(3);
  const owner = route.ring.indexOf("alice");
  assert.equal(router.pick(group, "alice"), health[owner]!.replica);
  assert.equal(router.pick(group, "alice"), health[owner]!.replica);
  const next = route.ring.order("alice")[1]!;
  health[owner]!.skipped = true;
  assert.equal(router.pick(group, "alice"), health[next]!.replica, "skipped: next on the ring");
  health[owner]!.skipped = false;
  replicas[owner]!.connection = null;
  assert.equal(router.pick(group, "alice"), health[next]!.replica, "down: next on the ring");
  replicas[owner]!.connection = { state: "ready" };
  health[owner]!.breaker.trip();
  assert.equal(router.pick(group, "alice"), health[next]!.replica, "breaker open: next on the ring");
  health[owner]!.breaker.reset();
  assert.equal(router.pick(group, "alice"), health[owner]!.replica, "back home");
  assert.deepEqual(router.clientsPer(route).reduce((a, b) => a + b), 1);
  for (const h of health) h.breaker.dispose();
});

test("last resort: skipped replicas still serve when nothing better is left; open breakers everywhere give circuit_open", () => {
  const { router, health, group } = setup(2);
  for (const h of health) h.skipped = true;
  assert.ok(router.pick(group, "bob"), "a skipped but connected replica beats failing");
  for (const h of health) h.breaker.trip();
  assert.throws(() => router.pick(group, "bob"), (e: Error & { code?: string }) => e.code === "circuit_open");
  for (const h of health) h.breaker.dispose();
});

test("a client that flips between replicas more than flap_limit times is pinned where it is", () => {
  const { router, route, health, replicas, group, damper } = setup(2);
  const owner = route.ring.indexOf("carol");
  const other = 1 - owner;
  router.pick(group, "carol");
  // Its owner goes down and up repeatedly: carol flips away and back.
  for (let i = 0; i < 3; i++) {
    replicas[owner]!.connection = null;
    router.pick(group, "carol");
    replicas[owner]!.connection = { state: "ready" };
    router.pick(group, "carol");
  }
  const report = damper.report("carol");
  assert.equal(report.length, 1);
  assert.ok(report[0]!.held_until);
  // Pinned: even with its owner healthy it stays where the hold caught it.
  const pinned = router.pick(group, "carol");
  assert.equal(router.pick(group, "carol"), pinned);
  router.unpin("u");
  assert.equal(router.pick(group, "carol"), health[owner]!.replica);
  assert.ok([owner, other].includes(health.findIndex((h) => h.replica === pinned)));
  for (const h of health) h.breaker.dispose();
});
