/** Pool leases over a real upstream: exhaustion answers pool_timeout, resizing applies at runtime. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { channels, type PoolEvent, type UpstreamEvent } from "../../src/telemetry/channels.js";
import { startConformanceServer } from "../fixtures/conformance-server.js";
import { connectClient, errorCode, record, resilienceOf } from "./resilience-helpers.js";

const CHECKOUT = 300;

test("pool exhaustion: a call waiting past checkout_timeout gets pool_timeout; a bigger pool set at runtime serves it", async () => {
  const { gateway, url } = await startTestGateway({
    pool: { size: 1, overflow: 0, checkout_timeout: CHECKOUT },
    upstreams: [everythingUpstream("everything")],
  });
  const pool = record<PoolEvent>(channels.pool.name);
  const clients: Client[] = [];
  try {
    const a = await connectClient(url, "holder");
    const b = await connectClient(url, "waiter");
    clients.push(a, b);
    const r = resilienceOf(gateway);
    // A holds the only lease with a slow tool.
    const slow = a.callTool({ name: "trigger-long-running-operation", arguments: { duration: 3, steps: 3 } }, undefined, { timeout: 15_000 });
    await waitUntil(() => r.healthCheck().upstreams[0]!.in_use === 1, "lease taken");
    const started = Date.now();
    const err = await b.callTool({ name: "echo", arguments: { message: "x" } }, undefined, { timeout: 10_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - started;
    assert.ok(err, "the waiting call failed");
    assert.equal(errorCode(err), "pool_timeout", String(err));
    assert.match((err as Error).message, /Connection pool exhausted/);
    assert.ok(elapsed < 5000, `answered after the checkout wait, not left hanging (${elapsed} ms)`);
    const health = r.healthCheck();
    assert.equal(health.upstreams[0]!.timeouts, 1);
    assert.equal(health.totals.exhaustion_ratio, 1);
    assert.ok(pool.events.some((e) => e.type === "timeout" && e.upstream === "everything"));

    // Runtime resize: the next concurrent call gets a lease of its own.
    gateway.config.update("pool.size", 2);
    assert.equal(r.healthCheck().upstreams[0]!.size, 2);
    const echo = await b.callTool({ name: "echo", arguments: { message: "after resize" } }, undefined, { timeout: 5000 });
    assert.match(JSON.stringify(echo.content), /after resize/);
    await slow;
    await waitUntil(() => r.healthCheck().upstreams[0]!.in_use === 0, "leases returned");
    assert.ok(pool.events.some((e) => e.type === "resized" && e.size === 2));
  } finally {
    pool.close();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await gateway.close();
  }
});

test("a cancelled call returns its lease; cleanup/clear/restart functions answer", async () => {
  const { gateway, url } = await startTestGateway({ pool: { size: 1, overflow: 0, checkout_timeout: 2000 }, upstreams: [everythingUpstream("everything")] });
  const c = await connectClient(url, "canceller");
  try {
    const r = resilienceOf(gateway);
    const ac = new AbortController();
    const slow = c.callTool({ name: "trigger-long-running-operation", arguments: { duration: 5, steps: 5 } }, undefined, { signal: ac.signal, timeout: 10_000 }).catch((e: unknown) => e);
    await waitUntil(() => r.healthCheck().upstreams[0]!.in_use === 1, "lease taken");
    ac.abort(); // the SDK sends notifications/cancelled
    await slow;
    await waitUntil(() => r.healthCheck().upstreams[0]!.in_use === 0, "lease returned on cancel");
    const echo = await c.callTool({ name: "echo", arguments: { message: "lease free" } });
    assert.match(JSON.stringify(echo.content), /lease free/);
    assert.deepEqual(r.cleanupIdleConnections(3600), { closed: 0 }, "nothing idle for an hour");
    assert.deepEqual(await r.clearAll(), { cleared: 1 }, "the idle connection is recycled");
    const { restarted } = await r.restartPools();
    assert.equal(restarted, 1);
    const again = await c.callTool({ name: "echo", arguments: { message: "after restart" } });
    assert.match(JSON.stringify(again.content), /after restart/);
  } finally {
    await c.close().catch(() => {});
    await gateway.close();
  }
});

test("idle_timeout: an idle network upstream connection is closed and reopened fresh; the next call works", async () => {
  const fixture = await startConformanceServer(0);
  const pool = record<PoolEvent>(channels.pool.name);
  const ups = record<UpstreamEvent>(channels.upstream.name);
  const { gateway, url } = await startTestGateway({
    pool: { idle_timeout: 300 },
    routing: { health_check_interval: 200 },
    upstreams: [{ name: "net", transport: "streamable_http", url: fixture.url }],
  });
  const c = await connectClient(url, "idle-client");
  try {
    await pool.waitFor((e) => e.type === "idle_closed" && e.detail === "net#0", 10_000, "idle connection closed");
    await ups.waitFor((e) => e.type === "initialized" && e.replica === "net#0", 10_000, "first init");
    const inits = () => ups.events.filter((e) => e.type === "initialized" && e.replica === "net#0").length;
    const before = inits();
    await ups.waitFor(() => inits() > before || inits() >= 2, 10_000, "re-initialized");
    const r = await c.callTool({ name: "test_simple_text", arguments: {} });
    assert.match(JSON.stringify(r.content), /simple text/);
  } finally {
    pool.close();
    ups.close();
    await c.close();
    await gateway.close();
    await fixture.close();
  }
});

/** Polls a cheap in-process condition (bounded: 100 tries, 20 ms apart). */
async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached: ${what}`);
}
