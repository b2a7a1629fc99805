/**
 * The modern (2026-07-28) wire end to end: the real SDK v2 client, pinned to
 * 2026-07-28 and in `auto` mode, through the gateway to legacy upstreams (the
 * conformance fixture and server-everything over stdio): discovery, calls,
 * the MRTR bridge (a legacy upstream's sampling request answered by the v2
 * client's handler), subscriptions/listen, and a v1 client alongside.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { startTestGateway, fixtureUpstream, everythingUpstream } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway({ upstreams: [fixtureUpstream("fx"), everythingUpstream("ev")], routing: { prefix: "conditional" }, rate_limiting: { enabled: false } } as never));
});
after(() => gateway.close());

async function modernClient(mode: "auto" | { pin: string }, capabilities: Record<string, object> = { sampling: {}, elicitation: {} }) {
  const client = new Client({ name: "v2-test", version: "1.0.0" }, { capabilities, versionNegotiation: { mode } } as never);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

test("a v2 client pinned to 2026-07-28 connects, lists and calls through to a legacy stdio upstream", async () => {
  const client = await modernClient({ pin: "2026-07-28" });
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.deepEqual(names, [...names].sort(), "merged lists are in a deterministic order");
    assert.ok(names.includes("test_simple_text") && names.includes("echo"));
    const r = await client.callTool({ name: "echo", arguments: { message: "hi" } });
    assert.match(JSON.stringify(r.content), /hi/);
  } finally {
    await client.close();
  }
});

test("MRTR bridge: a legacy upstream's sampling request during a modern call is answered by the client's handler", async () => {
  const client = await modernClient({ pin: "2026-07-28" });
  let asked = 0;
  client.setRequestHandler("sampling/createMessage", async (request) => {
    asked++;
    assert.match(JSON.stringify(request.params.messages), /context: ping/);
    return { model: "test-model", role: "assistant", content: { type: "text", text: "pong from the client" } };
  });
  try {
    const r = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "ping" } });
    assert.equal(asked, 1);
    assert.match(JSON.stringify(r.content), /pong from the client/);
    // Multi-round: two questions in a row, each its own input_required round.
    client.setRequestHandler("elicitation/create", async (request) => ({ action: "accept", content: /color/.test(String(request.params.message)) ? { color: "blue" } : { name: "Ada" } }));
    const r2 = await client.callTool({ name: "test_input_required_result_multi_round", arguments: {} });
    assert.match(JSON.stringify(r2.content), /Ada likes blue/);
  } finally {
    await client.close();
  }
  assert.equal((gateway.context.modern as unknown as { bridge: { held: number } }).bridge.held, 0, "nothing left waiting for a retry");
});

test("a client that declares no sampling gets -32021 naming it", async () => {
  const client = await modernClient({ pin: "2026-07-28" }, {});
  try {
    await assert.rejects(client.callTool({ name: "test_missing_capability", arguments: {} }), (err: { code?: number; data?: { requiredCapabilities?: unknown } }) => {
      assert.equal(err.code, -32021);
      assert.deepEqual(err.data?.requiredCapabilities, { sampling: {} });
      return true;
    });
  } finally {
    await client.close();
  }
});

test("auto mode finds the modern era; listen delivers list changes tagged with the subscription", async () => {
  const client = await modernClient("auto");
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    let changed!: () => void;
    const seen = new Promise<void>((resolve) => (changed = resolve));
    client.setNotificationHandler("notifications/tools/list_changed", () => changed());
    const sub = await client.listen({ toolsListChanged: true });
    await client.callTool({ name: "test_trigger_tool_change", arguments: {} });
    await seen;
    await sub.close();
  } finally {
    await client.close();
  }
});

test("legacy clients are unaffected: a v1 client on a session alongside", async () => {
  const v1 = new V1Client({ name: "v1-test", version: "1.0.0" });
  await v1.connect(new V1Transport(new URL(`${url}/mcp`)));
  try {
    assert.equal(v1.getServerVersion()?.name, "mcp-gateway");
    const r = await v1.callTool({ name: "test_simple_text", arguments: {} });
    assert.match(JSON.stringify(r.content), /simple text/);
  } finally {
    await v1.close();
  }
});
