/**
 * Redis down is degraded, not broken: with `cluster.redis_url` pointing at a
 * closed port, MCP calls are answered without waiting on the store (no
 * offline queue, no retries per request), `rate_limiting.fail_mode` decides
 * between letting them through and refusing them, and the rate-limit admin
 * endpoints answer 200 with what they know plus `redis_unavailable: true`.
 * Each call carries a 3 s deadline: before the fix every call waited out the
 * store's reconnect attempts (about 10 s).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("rate limiting with Redis unreachable", () => {
  let gateway: Gateway;
  let url: string;
  let client: Client;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(url + path, { ...init, headers: { authorization: "Bearer admin-token", "content-type": "application/json" } }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));

  before(async () => {
    const port = await closedPort();
    ({ gateway, url } = await startTestGateway({ cluster: { redis_url: `redis://default:hunter2@127.0.0.1:${port}/0` }, upstreams: [everythingUpstream()] }));
    client = new Client({ name: "redis-down", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)), { timeout: 3000 });
  });
  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  test("fail_mode open (default): 20 calls answered, none waits on the store", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await client.callTool({ name: "echo", arguments: { message: `m${i}` } }, undefined, { timeout: 3000 });
      assert.match(JSON.stringify(r.content), new RegExp(`m${i}`));
    }
  });

  test("admin rate-limit endpoints answer with what they know and redis_unavailable", async () => {
    const stats = await admin("/mcp/admin/rate-limit/stats");
    assert.equal(stats.status, 200);
    assert.equal(stats.body.redis_unavailable, true);
    assert.equal(stats.body.store, "redis");
    assert.equal(stats.body.default_limit, 100);
    assert.equal(stats.body.total_rejected, null);
    assert.match(stats.body.store_error, /ECONNREFUSED|redis/);
    assert.doesNotMatch(JSON.stringify(stats.body), /hunter2/);

    const check = await admin("/mcp/admin/rate-limit/check?key=user:x");
    assert.equal(check.status, 200);
    assert.deepEqual([check.body.allowed, check.body.count, check.body.redis_unavailable], [true, null, true]);

    const set = await admin("/mcp/admin/rate-limit/set", { method: "POST", body: JSON.stringify({ key: "user:x", limit: 5 }) });
    assert.equal(set.status, 200);
    assert.deepEqual([set.body.limit, set.body.redis_unavailable, set.body.applied_on], [5, true, "this node only"]);
    const reset = await admin("/mcp/admin/rate-limit/reset", { method: "POST", body: JSON.stringify({ key: "user:x" }) });
    assert.deepEqual([reset.status, reset.body.reset, reset.body.redis_unavailable], [200, false, true]);
  });

  test("fail_mode closed: calls are refused at once with rate_limit_unavailable; back to open, they pass", async () => {
    assert.equal((await admin("/mcp/admin/config", { method: "POST", body: JSON.stringify({ path: "rate_limiting.fail_mode", value: "closed" }) })).status, 200);
    await assert.rejects(client.callTool({ name: "echo", arguments: { message: "x" } }, undefined, { timeout: 3000 }), (err: Error & { code?: number; data?: { error?: string } }) => {
      assert.equal(err.code, -32031, err.message);
      assert.equal(err.data?.error, "rate_limit_unavailable");
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    const check = await admin("/mcp/admin/rate-limit/check?key=user:x");
    assert.equal(check.body.allowed, false);
    assert.equal(check.body.fail_mode, "closed");
    assert.equal((await admin("/mcp/admin/config", { method: "POST", body: JSON.stringify({ path: "rate_limiting.fail_mode", value: "open" }) })).status, 200);
    await client.callTool({ name: "echo", arguments: { message: "y" } }, undefined, { timeout: 3000 });
  });
});
