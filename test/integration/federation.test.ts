/** Several upstreams behind one endpoint: namespacing and routing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { everythingUpstream, fixtureUpstream, startTestGateway } from "../helpers/gateway.js";

async function client(url: string) {
  const c = new Client({ name: "fed", version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return c;
}

test("conditional prefix: colliding names get <upstream>__, unique names stay", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [everythingUpstream("a"), everythingUpstream("b"), fixtureUpstream("f")] });
  const c = await client(url);
  try {
    const names = (await c.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("a__echo") && names.includes("b__echo"));
    assert.ok(!names.includes("echo"));
    assert.ok(names.includes("test_simple_text"), "unique fixture tool is not prefixed");
    const r = await c.callTool({ name: "b__echo", arguments: { message: "via b" } });
    assert.match(JSON.stringify(r.content), /via b/);
    const prompts = (await c.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes("test_simple_prompt"));
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("prefix always namespaces everything; prefix never hides and reports a collision", async () => {
  const always = await startTestGateway({ routing: { prefix: "always" }, upstreams: [fixtureUpstream("f")] });
  const c = await client(always.url);
  try {
    const names = (await c.listTools()).tools.map((t) => t.name);
    assert.ok(names.every((n) => n.startsWith("f__")));
    const r = await c.callTool({ name: "f__test_simple_text", arguments: {} });
    assert.match(JSON.stringify(r.content), /simple text/);
  } finally {
    await c.close();
    await always.gateway.close();
  }
  const never = await startTestGateway({ routing: { prefix: "never" }, upstreams: [everythingUpstream("a"), everythingUpstream("b")] });
  try {
    const health = await (await fetch(`${never.url}/health/gateway`)).json();
    assert.ok(health.collisions.some((m: string) => m.includes('"echo"') && m.includes("a") && m.includes("b")));
  } finally {
    await never.gateway.close();
  }
});
