/**
 * Healing with real processes and sockets: safe retries only, per-tool
 * timeouts, partial lists vs fail_closed, re-subscription after a replica is
 * lost, and a Streamable HTTP upstream that forgets our session.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { fixtureUpstream, startTestGateway } from "../helpers/gateway.js";
import { startConformanceServer } from "../fixtures/conformance-server.js";
import { channels, type FailoverEvent, type UpstreamEvent } from "../../src/telemetry/channels.js";
import { clientsOwnedBy, connectClient, errorCode, pidOf, record, resilienceOf } from "./resilience-helpers.js";

const FLAKY = ["--import", "tsx", "test/fixtures/flaky-server.ts"];

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not reached: ${what}`);
}

test("a replica dies mid-call: the read-only call is retried on the other replica, the plain tools/call is not", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [{ name: "w", transport: "stdio", command: process.execPath, args: FLAKY, replicas: 2 }] });
  const [id] = clientsOwnedBy(gateway, "w", "w#0", 1);
  const c = await connectClient(url, id!);
  try {
    const r = resilienceOf(gateway);
    const read = c.callTool({ name: "slow", arguments: { ms: 3000 } }, undefined, { timeout: 15_000 }).then((x) => ({ ok: true as const, x }), (e: unknown) => ({ ok: false as const, e }));
    const write = c.callTool({ name: "slow_write", arguments: { ms: 3000 } }, undefined, { timeout: 15_000 }).then((x) => ({ ok: true as const, x }), (e: unknown) => ({ ok: false as const, e }));
    await until(() => r.healthCheck().upstreams[0]!.in_use === 2, "both calls on the wire");
    process.kill(pidOf(gateway, "w#0")!, "SIGKILL");
    const [readResult, writeResult] = await Promise.all([read, write]);
    assert.equal(readResult.ok, true, "readOnlyHint tool retried elsewhere");
    assert.match(JSON.stringify(readResult.ok && readResult.x.content), /slept 3000/);
    assert.equal(writeResult.ok, false, "a call that may have run is not sent twice");
    assert.equal(errorCode(!writeResult.ok && writeResult.e), "upstream_unavailable");
    assert.match(String(!writeResult.ok && (writeResult.e as Error).message), /connection lost/);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("per-tool timeout: the call ends with upstream_timeout at its own deadline and is not retried", async () => {
  const { gateway, url } = await startTestGateway({
    routing: { request_timeout: 20_000 },
    upstreams: [{ name: "w", transport: "stdio", command: process.execPath, args: FLAKY, replicas: 2, tool_timeouts: { slow: 300 } }],
  });
  const c = await connectClient(url, "timed");
  try {
    const err = await c.callTool({ name: "slow", arguments: { ms: 3000 } }, undefined, { timeout: 10_000 }).then(() => undefined, (e: unknown) => e);
    assert.equal(errorCode(err), "upstream_timeout");
    assert.match((err as Error).message, /within 300 ms/);
    const ok = await c.callTool({ name: "slow", arguments: { ms: 10 } });
    assert.match(JSON.stringify(ok.content), /slept 10/);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("tools/list with an upstream down: partial by default, upstream_unavailable with routing.fail_closed", async () => {
  const { gateway, url } = await startTestGateway({
    upstreams: [
      { name: "ok", transport: "stdio", command: process.execPath, args: FLAKY },
      { name: "broken", transport: "stdio", command: process.execPath, args: ["-e", "process.exit(1)"] },
    ],
  });
  const c = await connectClient(url, "lister");
  try {
    const names = (await c.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("whoami"), names.join());
    gateway.config.update("routing.fail_closed", true);
    const err = await c.listTools().then(() => undefined, (e: unknown) => e);
    assert.equal(errorCode(err), "upstream_unavailable");
    assert.match((err as Error).message, /broken/);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("resource subscriptions are re-made on another replica when theirs is lost", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [fixtureUpstream("f", { replicas: 2 })] });
  const flips = record<FailoverEvent>(channels.failover.name);
  let c: Client | undefined;
  try {
    const [id] = clientsOwnedBy(gateway, "f", "f#0", 1);
    c = await connectClient(url, id!);
    const updates: string[] = [];
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await c.subscribeResource({ uri: "test://watched-resource" });
    const r = resilienceOf(gateway);
    assert.deepEqual(r.core.subscriptions.snapshot(), { "f#0": ["test://watched-resource"] });
    process.kill(pidOf(gateway, "f#0")!, "SIGKILL");
    const moved = await flips.waitFor((e) => e.type === "resubscribed" && e.target === "f#1", 10_000, "re-subscribed on f#1");
    assert.equal(moved.detail, "test://watched-resource");
    const sent = await c.callTool({ name: "test_trigger_resource_update", arguments: {} });
    assert.match(JSON.stringify(sent.content), /Sent update/, "the surviving replica holds the subscription");
    await until(() => updates.length > 0, "update delivered");
    assert.deepEqual(updates, ["test://watched-resource"]);
  } finally {
    flips.close();
    await c?.close();
    await gateway.close();
  }
});

test("a lone replica that restarts gets the relay's subscriptions re-sent when it reconnects", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [fixtureUpstream("solo")] });
  const flips = record<FailoverEvent>(channels.failover.name);
  let c: Client | undefined;
  try {
    c = await connectClient(url, "solo-sub");
    const updates: string[] = [];
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await c.subscribeResource({ uri: "test://watched-resource" });
    const pid = pidOf(gateway, "solo#0")!;
    process.kill(pid, "SIGKILL");
    await flips.waitFor((e) => e.type === "resubscribed" && e.target === "solo#0", 15_000, "re-subscribed on the restarted child");
    assert.notEqual(pidOf(gateway, "solo#0"), pid);
    const sent = await c.callTool({ name: "test_trigger_resource_update", arguments: {} });
    assert.match(JSON.stringify(sent.content), /Sent update/);
    await until(() => updates.length > 0, "update delivered");
  } finally {
    flips.close();
    await c?.close();
    await gateway.close();
  }
});

test("a Streamable HTTP upstream that restarted (404 for our session) is re-initialized without the client noticing", async () => {
  let fixture = await startConformanceServer(0);
  const port = Number(new URL(fixture.url).port);
  const ups = record<UpstreamEvent>(channels.upstream.name);
  const { gateway, url } = await startTestGateway({ upstreams: [{ name: "h", transport: "streamable_http", url: fixture.url }] });
  const c = await connectClient(url, "http-client");
  try {
    const first = await c.callTool({ name: "test_simple_text", arguments: {} });
    assert.match(JSON.stringify(first.content), /simple text/);
    const inits = () => ups.events.filter((e) => e.type === "initialized" && e.replica === "h#0").length;
    assert.equal(inits(), 1);
    // The upstream restarts: same port, none of its old sessions.
    await fixture.close();
    fixture = await startConformanceServer(port);
    const again = await c.callTool({ name: "test_simple_text", arguments: {} }, undefined, { timeout: 10_000 });
    assert.match(JSON.stringify(again.content), /simple text/, "the call that met the 404 went through on the fresh session");
    assert.equal(inits(), 2, "re-initialized once");
  } finally {
    ups.close();
    await c.close();
    await gateway.close();
    await fixture.close();
  }
});
