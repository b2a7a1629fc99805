// Three gateway processes on the real Redis (unique key prefix per run) serving the modern
// (2026-07-28) wire: a v2 client whose every HTTP request goes to the next node in turn. No
// session to look up: discovery, lists, calls, and MRTR retries landing on another node than the
// one that issued the requestState (replayed there from the sealed answers) all succeed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { purge, SHARED_REDIS, startNode, testPrefix, type Node } from "./helpers.js";

const prefix = testPrefix("modern");
const nodes: Node[] = [];

before(async () => {
  const config = {
    cluster: { redis_url: SHARED_REDIS, key_prefix: prefix },
    rate_limiting: { enabled: false },
    // Every node seals and opens requestState with the same key.
    modern: { state_key: `key-of-${prefix}` },
    routing: { prefix: "conditional" },
    upstreams: [{ name: "fx", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/conformance-server.ts", "--stdio"] }],
  };
  nodes.push(...(await Promise.all(["rr-a", "rr-b", "rr-c"].map((n) => startNode(n, config, 90_000)))));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  await purge(SHARED_REDIS, prefix);
});

test("round-robin modern requests over three nodes, MRTR retries on other nodes: zero errors", async () => {
  let next = 0;
  const served: string[] = [];
  const roundRobin = (input: string | URL | Request, init?: RequestInit) => {
    const node = nodes[next++ % nodes.length]!;
    served.push(node.name);
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(`${node.url}${url.pathname}${url.search}`, init);
  };
  const client = new Client({ name: "rr", version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } } as never);
  client.setRequestHandler("elicitation/create", async (r) => ({ action: "accept", content: /color/.test(String(r.params.message)) ? { color: "green" } : { name: "Lin" } }));
  client.setRequestHandler("sampling/createMessage", async () => ({ model: "m", role: "assistant", content: { type: "text", text: "hello from the client" } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${nodes[0]!.url}/mcp`), { fetch: roundRobin } as never));
  const errors: string[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const step = async (what: string, run: () => Promise<unknown>, expect: RegExp) => {
        try {
          const out = JSON.stringify(await run());
          if (!expect.test(out)) errors.push(`${what}: ${out}`);
        } catch (err) {
          errors.push(`${what}: ${String(err)}`);
        }
      };
      await step("tools/list", () => client.listTools(), /test_simple_text/);
      await step("simple", () => client.callTool({ name: "test_simple_text", arguments: {} }), /simple text/);
      await step("sampling", () => client.callTool({ name: "test_input_required_result_sampling", arguments: {} }), /hello from the client/);
      await step("multi-round", () => client.callTool({ name: "test_input_required_result_multi_round", arguments: {} }), /Lin likes green/);
    }
  } finally {
    await client.close();
  }
  assert.deepEqual(errors, []);
  for (const n of nodes) assert.ok(served.includes(n.name), `${n.name} served requests`);
});
