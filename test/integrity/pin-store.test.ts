/** One contract for both pin stores (file and real Redis on 127.0.0.1:6379). */
import { after, test } from "node:test";
import { Redis } from "ioredis";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { FilePinStore } from "../../src/integrity/file-pin-store.js";
import { RedisPinStore } from "../../src/integrity/redis-pin-store.js";
import type { Pin, PinStore } from "../../src/integrity/pin-store.js";

const pin = (name: string, fingerprint = "sha256:aa"): Pin => ({
  upstream: "up",
  kind: "tools",
  name,
  fingerprint,
  content: "sha256:bb",
  definition: { name, description: "d" },
  pinned_at: new Date(0).toISOString(),
  by: "record",
});

const dir = mkdtempSync(join(tmpdir(), "pins-"));
const prefix = `test-pins-${randomUUID()}`;
after(async () => {
  const redis = new Redis("redis://127.0.0.1:6379");
  await redis.del(`${prefix}:pins`);
  redis.disconnect();
});
const stores: Array<[string, () => PinStore]> = [
  ["file (json)", () => new FilePinStore(join(dir, "pins.json"))],
  ["file (yaml)", () => new FilePinStore(join(dir, "pins.yaml"))],
  ["redis", () => new RedisPinStore("redis://127.0.0.1:6379", prefix)],
];

for (const [label, make] of stores) {
  test(`${label}: put, replace, delete, and a second instance sees the same pins`, async () => {
    const a = make();
    try {
      await a.put(pin("x"));
      await a.put(pin("y"));
      await a.put(pin("x", "sha256:cc"));
      await a.delete("up", "tools", "y");
      await a.delete("up", "tools", "never-there");
      const pins = await a.load();
      assert.deepEqual(pins.map((p) => [p.name, p.fingerprint]), [["x", "sha256:cc"]]);
      const b = make();
      try {
        const again = await b.load();
        assert.deepEqual(again, pins);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });
}

test("file: sorted, reviewable layout", () => {
  const text = readFileSync(join(dir, "pins.json"), "utf8");
  const doc = JSON.parse(text);
  assert.equal(doc.version, 1);
  assert.equal(doc.pins.up.tools.x.fingerprint, "sha256:cc");
  assert.ok(text.indexOf('"content"') < text.indexOf('"fingerprint"'), "keys sorted");
});

test("file: a broken pin file is a clear start-up error", async () => {
  const { writeFileSync } = await import("node:fs");
  const path = join(dir, "broken.json");
  writeFileSync(path, "{not json");
  assert.throws(() => new FilePinStore(path), /integrity.pin_file .*broken.json: not valid JSON/);
});

test("redis: an unreachable Redis fails load() within its bound instead of hanging the refresh", async () => {
  const down = new RedisPinStore("redis://127.0.0.1:1", prefix, 200);
  try {
    // Whichever comes first: the bound, or ioredis giving up on a refused connection (fast on a quiet machine).
    await assert.rejects(down.load(), /did not answer within 200 ms|max retries per request/i);
  } finally {
    await down.close();
  }
});

test("redis: a change on one node is announced to the others, not to itself", async () => {
  const a = new RedisPinStore("redis://127.0.0.1:6379", prefix);
  const b = new RedisPinStore("redis://127.0.0.1:6379", prefix);
  try {
    await Promise.all([a.ready(), b.ready()]);
    let own = 0;
    a.onChange(() => own++);
    const seen = new Promise<void>((resolve) => b.onChange(resolve));
    await a.put(pin("z"));
    await seen;
    assert.equal(own, 0);
    assert.ok((await b.load()).some((p) => p.name === "z"));
  } finally {
    await a.close();
    await b.close();
  }
});
