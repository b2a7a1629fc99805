// Three gateway processes on the real Redis (unique key prefix per run) serving the modern
// (2026-07-28) wire: a v2 client whose every HTTP request goes to the next node in turn. No
// session to look up: discovery, lists, calls, and MRTR retries landing on another node than the
// one that issued the requestState all succeed, for both kinds of upstream:
// - a modern upstream (SDK v2 server, modern-only) answering input_required itself: its own
//   requestState travels sealed in the gateway's, so any node sends the retry on (stateless);
// - a legacy upstream (the conformance fixture, SDK v1) whose server->client requests the bridge
//   turns into input_required: the held call lives on the node that issued the state, and a retry
//   landing elsewhere is forwarded there over the cluster bus. The tool runs exactly once per call
//   (counted from every node's gateway_requests_total); a retry whose node died is refused clearly.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { purge, SHARED_REDIS, startNode, testPrefix, type Node } from "./helpers.js";
import { v2StdioUpstream } from "../integration/era-helpers.js";

const prefix = testPrefix("modern");
const nodes: Node[] = [];

before(async () => {
  const config = {
    cluster: { redis_url: SHARED_REDIS, key_prefix: prefix },
    rate_limiting: { enabled: false },
    // Every node seals and opens requestState with the same key.
    modern: { state_key: `key-of-${prefix}` },
    routing: { prefix: "conditional" },
    upstreams: [{ name: "fx", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/conformance-server.ts", "--stdio"] }, v2StdioUpstream("v2", "modern")],
  };
  nodes.push(...(await Promise.all(["rr-a", "rr-b", "rr-c"].map((n) => startNode(n, config, 90_000)))));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  await purge(SHARED_REDIS, prefix);
});

/** tools/call requests a node sent to upstream `upstream` (its Prometheus counter, every outcome). */
async function upstreamCalls(node: Node, upstream: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("gateway_requests_total{") && line.includes('method="tools/call"') && line.includes(`upstream="${upstream}"`)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

const forwardedBy = async (n: Node) => ((await (await fetch(`${n.url}/mcp/stats`)).json()) as { cluster: { forwarded: number } }).cluster.forwarded;

test("round-robin modern requests over three nodes, MRTR retries on other nodes, both upstream eras: zero errors, no re-runs", async () => {
  let next = 0;
  const served: string[] = [];
  const roundRobin = (input: string | URL | Request, init?: RequestInit) => {
    const node = nodes[next++ % nodes.length]!;
    served.push(node.name);
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(`${node.url}${url.pathname}${url.search}`, init);
  };
  const client = new Client({ name: "rr", version: "1.0.0" }, { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } } as never);
  client.setRequestHandler("elicitation/create", async (r) => ({ action: "accept", content: /color/.test(String(r.params.message)) ? { color: "green" } : /Proceed/.test(String(r.params.message)) ? { ok: true } : { name: "Lin" } }));
  client.setRequestHandler("sampling/createMessage", async () => ({ model: "m", role: "assistant", content: { type: "text", text: "hello from the client" } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${nodes[0]!.url}/mcp`), { fetch: roundRobin } as never));
  const fxBefore = (await Promise.all(nodes.map((n) => upstreamCalls(n, "fx")))).reduce((a, b) => a + b, 0);
  const forwardedBefore = (await Promise.all(nodes.map(forwardedBy))).reduce((a, b) => a + b, 0);
  const errors: string[] = [];
  const rounds = 6;
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    const v2 = (tool: string) => (names.includes(tool) ? tool : `v2__${tool}`);
    assert.ok(names.includes(v2("confirm")), names.join(", "));
    for (let i = 0; i < rounds; i++) {
      const step = async (what: string, run: () => Promise<unknown>, expect: RegExp) => {
        try {
          const out = JSON.stringify(await run());
          if (!expect.test(out)) errors.push(`${what}: ${out}`);
        } catch (err) {
          errors.push(`${what}: ${String(err)}`);
        }
      };
      await step("tools/list", () => client.listTools(), /test_simple_text/);
      // Legacy upstream: one plain call, a one-round and a two-round bridged MRTR call.
      await step("simple", () => client.callTool({ name: "test_simple_text", arguments: {} }), /simple text/);
      await step("sampling", () => client.callTool({ name: "test_input_required_result_sampling", arguments: {} }), /hello from the client/);
      await step("multi-round", () => client.callTool({ name: "test_input_required_result_multi_round", arguments: {} }), /Lin likes green/);
      // Modern upstream: its own input_required rounds, passed through sealed.
      await step("v2 confirm", () => client.callTool({ name: v2("confirm"), arguments: {} }), /confirmed: true/);
      await step("v2 sample", () => client.callTool({ name: v2("sample"), arguments: {} }), /sampled: hello from the client/);
    }
  } finally {
    await client.close();
  }
  assert.deepEqual(errors, []);
  for (const n of nodes) assert.ok(served.includes(n.name), `${n.name} served requests`);
  // Every legacy call reached the upstream exactly once, whichever nodes its retries landed on.
  const fxAfter = (await Promise.all(nodes.map((n) => upstreamCalls(n, "fx")))).reduce((a, b) => a + b, 0);
  assert.equal(fxAfter - fxBefore, rounds * 3, "one upstream tools/call per legacy call: bridged retries were never re-run");
  // Held retries that landed elsewhere went to their node over the bus (three nodes, round robin: most do).
  const forwarded = (await Promise.all(nodes.map(forwardedBy))).reduce((a, b) => a + b, 0) - forwardedBefore;
  assert.ok(forwarded >= rounds, `held retries forwarded between nodes: ${forwarded}`);
});

test("a bridged retry whose holding node died is refused with input_call_gone, not re-run elsewhere", async () => {
  const META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } };
  const name = "test_input_required_result_elicitation";
  const post = async (node: Node, id: number, params: Record<string, unknown>) => {
    const res = await fetch(`${node.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name },
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {}, _meta: META, ...params } }),
    });
    return { status: res.status, body: (await res.json()) as { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { error?: string } } } };
  };
  const [a, , c] = nodes as [Node, Node, Node];
  const first = await post(c, 1, {});
  assert.equal(first.body.result?.resultType, "input_required", JSON.stringify(first.body));
  const fxBefore = await upstreamCalls(a, "fx");
  await c.stop("SIGKILL");
  const retry = await post(a, 2, { inputResponses: { user_name: { action: "accept", content: { name: "Ada" } } }, requestState: first.body.result?.requestState });
  assert.deepEqual([retry.status, retry.body.error?.code, retry.body.error?.data?.error], [400, -32045, "input_call_gone"], JSON.stringify(retry.body));
  assert.match(retry.body.error!.message, /rr-c/);
  assert.equal(await upstreamCalls(a, "fx"), fxBefore, "the tool was not run again on the node the retry reached");
});
