/**
 * Pins in Redis (cluster mode): an approval on one node is enforced by the
 * other at once; a broken pin file stops the start naming its path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { startTestGateway } from "../helpers/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { Gateway } from "../../src/gateway.js";
import { cli, CountingClient, mutableUpstream, tempPinFile } from "./integrity-helpers.js";

const REDIS = "redis://127.0.0.1:6379";

test("cluster: pins live in Redis; tools pin --all on node A shows the tools on node B", async () => {
  const key_prefix = `mcpgw-test:integrity:${randomBytes(4).toString("hex")}`;
  const cluster = { redis_url: REDIS, key_prefix, heartbeat_interval: 300, node_timeout: 1500 };
  const a = await startTestGateway({ cluster: { ...cluster, node_id: "a" }, integrity: { mode: "enforce" }, upstreams: [mutableUpstream("m")] });
  const b = await startTestGateway({ cluster: { ...cluster, node_id: "b" }, integrity: { mode: "enforce" }, upstreams: [mutableUpstream("m")] });
  const onB = await CountingClient.connect(b.url);
  try {
    assert.deepEqual(await onB.toolNames(), []);
    assert.equal(a.gateway.integrity.storeKind, "redis");
    const shown = onB.nextChange();
    const pinned = await cli(a.url, "tools", "pin", "--all");
    assert.equal(pinned.code, 0, pinned.out);
    await shown;
    assert.ok((await onB.toolNames()).includes("add"), "node B reloaded the pins and re-reviewed");
    const redis = new Redis(REDIS);
    try {
      const fields = await redis.hkeys(`${key_prefix}:pins`);
      assert.ok(fields.includes(JSON.stringify(["m", "tools", "add"])), fields.join());
      await redis.del(`${key_prefix}:pins`);
    } finally {
      redis.disconnect();
    }
  } finally {
    await onB.client.close();
    await b.gateway.close();
    await a.gateway.close();
  }
});

test("a pin file that does not parse stops the start with its path", () => {
  const path = tempPinFile();
  writeFileSync(path, "{ not json");
  const config = validateConfig({ logging: { dir: "", stdout: false }, integrity: { mode: "record", pin_file: path }, upstreams: [mutableUpstream("m")] });
  assert.throws(() => new Gateway(config), (err: Error) => err.message.includes(path) && /not valid JSON/.test(err.message));
});
