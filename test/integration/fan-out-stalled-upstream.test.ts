/**
 * Fan-out over twenty real SDK upstreams (child processes of
 * test/fixtures/fanout-server.mjs), one of them stalled: the gateway opens
 * once the others are listed plus routing.list_timeout, lists the other
 * nineteen's tools, prompts, resources and templates, flags the stalled one
 * (log + gateway_upstream_list_stale), serves a stalled upstream's last good
 * lists, and calls to the healthy ones are unaffected (ADR 0210).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { LogEvent } from "../../src/telemetry/channels.js";

const FIXTURE = "test/fixtures/fanout-server.mjs";
const HEALTHY = 19;

function upstream(n: number, mode?: "--stall-lists" | "--silent") {
  // Legacy handshake: the probe is not what this test is about, and twenty probes would only slow the spawn.
  return { name: `f${n}`, transport: "stdio" as const, command: process.execPath, args: [FIXTURE, String(n), ...(mode ? [mode] : [])], protocol: "legacy" as const };
}

/** Log lines of the gateway's routing layer, and a way to wait for one. */
function routingLog() {
  const lines: LogEvent[] = [];
  const waiters: Array<{ re: RegExp; done: (e: LogEvent) => void }> = [];
  const listener = (m: unknown) => {
    const e = m as LogEvent;
    if (e.component !== "MCP.Routing") return;
    lines.push(e);
    for (const w of [...waiters]) if (w.re.test(e.msg)) (waiters.splice(waiters.indexOf(w), 1), w.done(e));
  };
  diagnostics_channel.subscribe("mcp-gateway:log", listener);
  return {
    lines,
    next: (re: RegExp) => new Promise<LogEvent>((done) => waiters.push({ re, done })),
    stop: () => diagnostics_channel.unsubscribe("mcp-gateway:log", listener),
  };
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "fan-out", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

const healthy = [...Array(HEALTHY).keys()];
const textOf = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]!.text);

async function assertHealthyLists(client: Client): Promise<void> {
  const tools = new Set((await client.listTools()).tools.map((t) => t.name));
  for (const n of healthy) assert.ok(tools.has(`hello_${n}`), `hello_${n} listed`);
  assert.equal(tools.size, HEALTHY * 3, "three tools per healthy upstream, none from the stalled one");
  assert.equal((await client.listPrompts()).prompts.length, HEALTHY);
  assert.equal((await client.listResources()).resources.length, HEALTHY);
  assert.equal((await client.listResourceTemplates()).resourceTemplates.length, HEALTHY);
}

/**
 * Waits until every healthy upstream's tools are listed: on a loaded machine a healthy child may
 * still be spawning when the start-up bound releases the silent one; it joins with list_changed.
 */
async function untilHealthyListed(client: Client): Promise<void> {
  let changed!: () => void;
  let next = new Promise<void>((r) => (changed = r));
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());
  for (;;) {
    const armed = next;
    const tools = new Set((await client.listTools()).tools.map((t) => t.name));
    if (healthy.every((n) => tools.has(`hello_${n}`))) return;
    await armed;
    next = new Promise<void>((r) => (changed = r));
  }
}

async function assertHealthyCalls(client: Client): Promise<void> {
  const answers = await Promise.all(healthy.map((n) => client.callTool({ name: `hello_${n}`, arguments: {} })));
  answers.forEach((a, n) => assert.equal(textOf(a), `hello from ${n}`));
}

test("an upstream that handshakes but never answers its lists: the other 19 are listed and called, it is flagged, and a stalled refresh keeps the last good lists", async () => {
  const log = routingLog();
  const { gateway, url } = await startTestGateway({ upstreams: [...healthy.map((n) => upstream(n)), upstream(HEALTHY, "--stall-lists")] });
  const client = await connect(url);
  try {
    assert.equal(gateway.firstLists?.outcomes[`f${HEALTHY}`], "stale");
    for (const n of healthy) assert.equal(gateway.firstLists?.outcomes[`f${n}`], "listed", `f${n} listed at start-up`);
    assert.ok(log.lines.some((e) => e.upstream === `f${HEALTHY}` && /unanswered after \d+ ms/.test(e.msg)), "the stalled upstream is named in the log");
    await assertHealthyLists(client);
    await assertHealthyCalls(client);
    let metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`gateway_upstream_list_stale\\{upstream="f${HEALTHY}"\\} 1`));
    assert.match(metrics, /gateway_upstream_list_stale\{upstream="f0"\} 0/);

    // f0 stops answering lists and says list_changed: its refresh stalls, its last good lists stay.
    const stale = log.next(/^lists of f0 unanswered/);
    assert.equal(textOf(await client.callTool({ name: "stall_lists_0", arguments: {} })), "lists stalled");
    await stale;
    await assertHealthyLists(client);
    metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /gateway_upstream_list_stale\{upstream="f0"\} 1/);
    assert.match(metrics, /gateway_upstream_list_timeouts_total\{upstream="f0"\} 1/);
    // A call the upstream holds does not hold anyone else's.
    const held = client.callTool({ name: "wait_1", arguments: {} }).catch(() => "closed");
    await assertHealthyCalls(client);
    void held;
  } finally {
    log.stop();
    await client.close();
    await gateway.close();
  }
});

test("an upstream that never answers at all (not even initialize): start-up goes on without it at routing.startup_timeout", async () => {
  const log = routingLog();
  const { gateway, url } = await startTestGateway({ routing: { startup_timeout: 3000 }, upstreams: [...healthy.map((n) => upstream(n)), upstream(HEALTHY, "--silent")] });
  const client = await connect(url);
  try {
    assert.equal(gateway.firstLists?.outcomes[`f${HEALTHY}`], "still_connecting");
    assert.ok(gateway.firstLists!.ms >= 3000, `opened at ${gateway.firstLists!.ms} ms, not before the start-up bound`);
    assert.ok(log.lines.some((e) => e.upstream === `f${HEALTHY}` && /start-up goes on without/.test(e.msg)));
    await untilHealthyListed(client);
    await assertHealthyLists(client);
    await assertHealthyCalls(client);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`gateway_upstream_ready_replicas\\{upstream="f${HEALTHY}"\\} 0`));
  } finally {
    log.stop();
    await client.close();
    await gateway.close();
  }
});
