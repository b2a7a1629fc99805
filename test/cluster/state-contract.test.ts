// The shared-state interfaces (src/state/): the memory and the Redis implementations pass the same
// checks (real Redis on 127.0.0.1:6379, unique key prefix, purged after).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SessionDirectory, DirectoryEntry } from "../../src/state/session-directory.js";
import type { EventLog } from "../../src/state/event-log.js";
import type { Bus } from "../../src/state/bus.js";
import type { Membership, NodeInfo } from "../../src/state/membership.js";
import { MemorySessionDirectory } from "../../src/state/memory/session-directory.js";
import { MemoryEventLog } from "../../src/state/memory/event-log.js";
import { MemoryBus } from "../../src/state/memory/bus.js";
import { MemoryMembership } from "../../src/state/memory/membership.js";
import { RedisBus, RedisEventLog, RedisKeys, RedisLink, RedisMembership, RedisSessionDirectory } from "../../src/state/redis/index.js";
import { purge, REDIS_SKIP, SHARED_REDIS, testPrefix } from "./helpers.js";

const prefix = testPrefix("contract");
const link = new RedisLink(SHARED_REDIS);
const keys = new RedisKeys(prefix);

after(async () => {
  if (!REDIS_SKIP) await purge(SHARED_REDIS, prefix);
  await link.close();
});

const entry = (node: string): DirectoryEntry => ({
  node,
  clientId: "c1",
  transport: "http_sse",
  protocolVersion: "2025-06-18",
  clientCapabilities: { sampling: {} },
  clientInfo: { name: "t", version: "1" },
  initialized: true,
  lastSeq: 7,
  ackedSeq: 3,
  createdAt: 1000,
});

const node = (id: string): NodeInfo => ({ id, url: "http://127.0.0.1:1", pid: 1, version: "0", started_at: "", last_seen: "", sessions: 2, connections: 1, messages_in: 0, messages_out: 0, rss_mb: 1, pending_writes: 0 });

interface Impl {
  directory: SessionDirectory;
  log: EventLog;
  bus: Bus;
  membership: Membership;
}

const impls: Array<[string, () => Promise<Impl>]> = [
  ["memory", async () => ({ directory: new MemorySessionDirectory(), log: new MemoryEventLog(5), bus: new MemoryBus(), membership: new MemoryMembership() })],
  [
    "redis",
    async () => {
      assert.ok(await link.ready(5000), `Redis on ${SHARED_REDIS}`);
      return {
        directory: new RedisSessionDirectory(link, keys),
        log: new RedisEventLog(link, keys, { maxPerSession: () => 5, ttlMs: () => 60_000, maxPending: 100 }),
        bus: new RedisBus(link),
        membership: new RedisMembership(link, keys),
      };
    },
  ],
];

for (const [name, make] of impls) {
  describe(`state: ${name}`, { skip: name === "redis" ? REDIS_SKIP : false }, () => {
    test("session directory: put, get, owner, touch, delete", async () => {
      const { directory } = await make();
      const id = `${name}-s1`;
      assert.equal(await directory.get(id), undefined);
      await directory.put(id, entry("n1"), 60_000);
      assert.deepEqual(await directory.get(id), entry("n1"));
      await directory.setOwner(id, "n2", 60_000);
      assert.equal((await directory.get(id))!.node, "n2");
      await directory.touch(id, 42, 60_000);
      assert.equal((await directory.get(id))!.lastSeq, 42);
      await directory.delete(id);
      assert.equal(await directory.get(id), undefined);
    });

    test("event log: append is queued, read after a seq, bounded per session", async () => {
      const { log } = await make();
      const id = `${name}-log`;
      for (let seq = 1; seq <= 12; seq++) log.append(id, seq === 12 ? { seq, stream: "s", json: `{"n":${seq}}`, last: true } : { seq, stream: "s", json: `{"n":${seq}}` });
      await log.flush();
      assert.equal(log.pending, 0);
      const all = await log.read(id);
      // MAXLEN ~ trims approximately: at least the bound, the newest always kept, in order.
      assert.ok(all.length >= 5 && all.length <= 12, `kept ${all.length}`);
      assert.deepEqual(all.map((e) => e.seq), Array.from({ length: all.length }, (_, i) => 13 - all.length + i));
      assert.deepEqual(await log.read(id, 10), [{ seq: 11, stream: "s", json: '{"n":11}' }, { seq: 12, stream: "s", json: '{"n":12}', last: true }]);
      await log.delete(id);
      assert.deepEqual(await log.read(id), []);
    });

    test("bus: publish counts receivers; subscribers get messages in order", async () => {
      const { bus } = await make();
      const ch = `${prefix}:${name}:ch`;
      assert.equal(await bus.publish(ch, "nobody"), 0);
      const got: string[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      await bus.subscribe(ch, (m) => {
        got.push(m);
        if (got.length === 3) done();
      });
      assert.equal(await bus.receivers(ch), 1);
      for (const m of ["a", "b", "c"]) assert.equal(await bus.publish(ch, m), 1);
      await all;
      assert.deepEqual(got, ["a", "b", "c"]);
    });

    test("membership: announced nodes are listed until they leave or expire", async () => {
      const { membership } = await make();
      await membership.announce(node(`${name}-x`), 60_000);
      await membership.announce(node(`${name}-y`), 60_000);
      const ids = (await membership.list()).map((n) => n.id).filter((i) => i.startsWith(name));
      assert.deepEqual(ids, [`${name}-x`, `${name}-y`]);
      await membership.leave(`${name}-x`);
      assert.deepEqual((await membership.list()).map((n) => n.id).filter((i) => i.startsWith(name)), [`${name}-y`]);
      await membership.announce(node(`${name}-z`), 30);
      await new Promise((r) => setTimeout(r, 80)); // a TTL has no event to await
      assert.ok(!(await membership.list()).some((n) => n.id === `${name}-z`));
    });
  });
}

test("redis event log: trimmed to the local buffer's floor too (its byte bound and the client's acks)", { skip: REDIS_SKIP }, async () => {
  assert.ok(await link.ready(5000));
  const log = new RedisEventLog(link, keys, { maxPerSession: () => 1000, ttlMs: () => 60_000, maxPending: 100, floor: () => 8 });
  for (let seq = 1; seq <= 12; seq++) log.append("floored", { seq, stream: "s", json: "{}" });
  await log.flush();
  assert.deepEqual((await log.read("floored")).map((e) => e.seq), [8, 9, 10, 11, 12]);
});

test("redis event log: the queue is capped while Redis is unreachable (no unbounded buffering)", async () => {
  const dead = new RedisLink("redis://127.0.0.1:1");
  try {
    let lost = 0;
    const log = new RedisEventLog(dead, keys, { maxPerSession: () => 1000, ttlMs: () => 60_000, maxPending: 50, onLost: (_ids, n) => (lost += n) });
    for (let seq = 1; seq <= 500; seq++) log.append("nowhere", { seq, stream: "s", json: "{}" });
    assert.equal(log.pending, 50);
    assert.equal(log.dropped, 450);
    assert.equal(lost, 450);
    await log.flush(); // nothing to write to: returns at once
    assert.equal(log.pending, 50);
  } finally {
    await dead.close();
  }
});
