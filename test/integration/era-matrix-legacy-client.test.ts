/**
 * The era matrix, legacy-client half: an SDK v1 client (2025-11-25) through
 * the gateway to every kind of upstream: SDK v1 server-everything (legacy)
 * and the SDK v2 fixture served modern-only and dual-era, each over stdio
 * and Streamable HTTP, with `protocol: auto` (the default) detecting the era.
 * Per upstream: list tools, call a tool, one server->client round trip
 * (sampling or elicitation; on modern upstreams through the MRTR bridge),
 * and resources/subscribe where the upstream offers it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { EventEmitter } from "node:events";
import type { Gateway } from "../../src/gateway.js";
import { startEraMatrix, type EraMatrix } from "./era-helpers.js";

let gateway: Gateway;
let url: string;
let matrix: EraMatrix | undefined;

before(async () => {
  matrix = await startEraMatrix();
  ({ gateway, url } = matrix);
});

after(async () => {
  await matrix?.close();
});

/** A v1 client that can be asked for sampling and elicitation, and records resource updates. */
async function legacyClient(): Promise<{ client: Client; updates: EventEmitter; asked: string[] }> {
  const client = new Client({ name: "v1-client", version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: {} } });
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(`elicitation:${req.params.message}`);
    return { action: "accept", content: { ok: true } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async () => {
    asked.push("sampling");
    return { role: "assistant", model: "test-model", content: { type: "text", text: "hello from the client" } };
  });
  const updates = new EventEmitter();
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
    updates.emit("updated", n.params.uri);
  });
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    updates.emit("tools");
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return { client, updates, asked };
}

test("each upstream's era was detected by protocol: auto", async () => {
  const health = await (await fetch(`${url}/health/gateway`)).json();
  const era = (name: string) => health.upstreams[name].replicas[0].protocol;
  assert.equal(era("v1s"), "legacy");
  assert.equal(era("v1h"), "legacy");
  assert.equal(era("v2ms"), "modern");
  assert.equal(era("v2mh"), "modern");
  // Dual-era servers answer server/discover: the gateway prefers the modern wire.
  assert.equal(era("v2ds"), "modern");
  assert.equal(era("v2dh"), "modern");
  // Modern upstreams' list results carry SEP-2549 hints; the catalog keeps them per upstream for the modern edge.
  const hinted = gateway.catalog.upstreamHints("tools").map((h) => h.upstream).sort();
  assert.deepEqual(hinted, ["v2dh", "v2ds", "v2mh", "v2ms"]);
  for (const h of gateway.catalog.upstreamHints("tools")) assert.ok(Number.isInteger(h.ttlMs) && (h.cacheScope === "public" || h.cacheScope === "private"));
});

for (const name of ["v1s", "v1h"]) {
  test(`v1 client -> ${name} (SDK v1 server-everything, legacy): list, call, sampling, subscribe`, async () => {
    const { client, asked } = await legacyClient();
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(tools.includes(`${name}__echo`), `tools of ${name}: ${tools.join(", ")}`);
      const echoed = await client.callTool({ name: `${name}__echo`, arguments: { message: "hi v1" } });
      assert.match(JSON.stringify(echoed.content), /hi v1/);
      const sampled = await client.callTool({ name: `${name}__trigger-sampling-request`, arguments: { prompt: "p", maxTokens: 5 } });
      assert.match(JSON.stringify(sampled.content), /hello from the client/);
      assert.deepEqual(asked, ["sampling"]);
      const resource = (await client.listResources()).resources.find((r) => r.uri.startsWith("demo://resource/static"));
      assert.ok(resource, "server-everything lists its static resources");
      await client.subscribeResource({ uri: resource.uri });
      await client.unsubscribeResource({ uri: resource.uri });
    } finally {
      await client.close();
    }
  });
}

const COUNTER: Record<string, string> = {
  v2ms: "v2://modern-stdio/counter",
  v2mh: "v2://modern-http/counter",
  v2ds: "v2://dual-stdio/counter",
  v2dh: "v2://dual-http/counter",
};

for (const name of ["v2ms", "v2mh", "v2ds", "v2dh"]) {
  test(`v1 client -> ${name} (SDK v2 server, modern wire): list, call, elicitation and sampling via MRTR, subscribe`, async () => {
    const { client, updates, asked } = await legacyClient();
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      assert.deepEqual(tools.filter((t) => t.startsWith(`${name}__`)).sort(), [`${name}__bump`, `${name}__confirm`, `${name}__echo`, `${name}__grow`, `${name}__sample`, `${name}__seen_headers`, `${name}__where`]);
      const echoed = await client.callTool({ name: `${name}__echo`, arguments: { text: "hi v2" } });
      assert.deepEqual(echoed.content, [{ type: "text", text: "echo: hi v2" }]);
      // A declared x-mcp-header argument travels as Mcp-Param-Region (Base64-wrapped when not plain ASCII).
      const where = await client.callTool({ name: `${name}__where`, arguments: { region: "zürich" } });
      assert.deepEqual(where.content, [{ type: "text", text: "region: zürich" }]);
      // input_required -> elicitation/create to this client -> retry with inputResponses + requestState.
      const confirmed = await client.callTool({ name: `${name}__confirm`, arguments: {} });
      assert.deepEqual(confirmed.content, [{ type: "text", text: "confirmed: true" }]);
      const sampled = await client.callTool({ name: `${name}__sample`, arguments: {} });
      assert.deepEqual(sampled.content, [{ type: "text", text: "sampled: hello from the client" }]);
      assert.deepEqual(asked, ["elicitation:Proceed?", "sampling"]);
      // resources/subscribe -> subscriptions/listen upstream; its update arrives as notifications/resources/updated.
      const uri = COUNTER[name]!;
      await client.subscribeResource({ uri });
      const updated = once(updates, "updated");
      await client.callTool({ name: `${name}__bump`, arguments: {} });
      assert.deepEqual(await updated, [uri]);
      await client.unsubscribeResource({ uri });
      assert.deepEqual((await client.ping()), {});
      // tools/list_changed arrives on the gateway's listen stream, refreshes the catalog, and reaches the client.
      const changed = once(updates, "tools");
      await client.callTool({ name: `${name}__grow`, arguments: {} });
      await changed;
      assert.ok((await client.listTools()).tools.some((t) => t.name === `${name}__extra_1`), "the new tool is listed");
    } finally {
      await client.close();
    }
  });
}
