/**
 * The gateway core end to end: the official SDK Client over each client
 * transport, through the gateway, to real upstreams (server-everything over
 * stdio and the conformance fixture over Streamable HTTP).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import WebSocket from "ws";
import { startConformanceServer, type ConformanceServerHandle } from "../fixtures/conformance-server.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

// The SDK's WebSocket client transport uses the global WebSocket (Node 20 has none).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

type Kind = "streamable_http" | "http_sse" | "websocket";

let fixture: ConformanceServerHandle;
let gateway: Gateway;
let url: string;

before(async () => {
  fixture = await startConformanceServer(0);
  ({ gateway, url } = await startTestGateway({
    upstreams: [everythingUpstream(), { name: "fixture", transport: "streamable_http", url: fixture.url }],
  }));
});

after(async () => {
  await gateway?.close();
  await fixture?.close();
});

function transportFor(kind: Kind, clientId: string) {
  if (kind === "streamable_http") return new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${clientId}`));
  if (kind === "http_sse") return new SSEClientTransport(new URL(`${url}/mcp/sse?client_id=${clientId}`));
  return new WebSocketClientTransport(new URL(`${url.replace("http", "ws")}/mcp/ws?client_id=${clientId}`));
}

/** An SDK client that answers sampling requests with its own name, so answers can be told apart. */
async function connect(kind: Kind, clientId: string): Promise<Client> {
  const client = new Client({ name: clientId, version: "1.0.0" }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: `model-of-${clientId}`,
    role: "assistant",
    content: { type: "text", text: `answer from ${clientId}` },
  }));
  await client.connect(transportFor(kind, clientId));
  return client;
}

for (const kind of ["streamable_http", "http_sse", "websocket"] as const) {
  describe(`SDK client over ${kind}`, () => {
    let client: Client;
    before(async () => {
      client = await connect(kind, `c-${kind}`);
    });
    after(async () => {
      await client?.close();
    });

    test("initialize reports the gateway and the union of capabilities", () => {
      assert.equal(client.getServerVersion()?.name, "mcp-gateway");
      const caps = client.getServerCapabilities();
      assert.ok(caps?.tools && caps.prompts && caps.resources && caps.logging);
    });

    test("tools/list federates both upstreams", async () => {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      assert.ok(names.includes("echo"), "server-everything's echo");
      assert.ok(names.includes("test_simple_text"), "the fixture's test_simple_text");
    });

    test("tools/call routes to the owning upstream", async () => {
      const echo = await client.callTool({ name: "echo", arguments: { message: "hi" } });
      assert.match(JSON.stringify(echo.content), /hi/);
      const simple = await client.callTool({ name: "test_simple_text", arguments: {} });
      assert.match(JSON.stringify(simple.content), /simple text response/);
    });

    test("resources and prompts route to their owner", async () => {
      const { resources } = await client.listResources();
      const fixtureResource = resources.find((r) => r.uri === "test://static-text");
      assert.ok(fixtureResource, "the fixture's static text resource is listed");
      const read = await client.readResource({ uri: "test://static-text" });
      assert.ok(read.contents.length > 0);
      const prompt = await client.getPrompt({ name: "test_simple_prompt" });
      assert.ok(prompt.messages.length > 0);
    });

    test("sampling round trip over a stdio upstream reaches this client", async () => {
      const result = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "x", maxTokens: 5 } });
      assert.match(JSON.stringify(result.content), new RegExp(`answer from c-${kind}`));
    });

    test("sampling round trip over a Streamable HTTP upstream reaches this client", async () => {
      const result = await client.callTool({ name: "test_sampling", arguments: { prompt: "y" } });
      assert.match(JSON.stringify(result), new RegExp(`answer from c-${kind}`));
    });

    test("progress notifications reach the caller with its own token", async () => {
      const seen: number[] = [];
      const result = await client.callTool(
        { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
        undefined,
        { onprogress: (p) => seen.push(p.progress) },
      );
      assert.ok(result.content);
      // The SDK client dispatches notifications a microtask later than responses,
      // so a progress event that arrives in the same chunk as the result can be
      // dropped by the client itself; the raw-wire test below checks all three.
      assert.ok(seen.length >= 2, `saw ${seen}`);
      assert.deepEqual(seen, [1, 2, 3].slice(0, seen.length));
    });

    test("cancellation stops waiting and the session keeps working", async () => {
      const controller = new AbortController();
      const call = client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 10, steps: 2 } }, undefined, { signal: controller.signal });
      setImmediate(() => controller.abort("test"));
      await assert.rejects(call);
      const session = [...gateway.registry.all()].find((s) => s.clientId === `c-${kind}`);
      assert.equal(session?.inflight?.size ?? 0, 0, "the gateway forgot the cancelled call");
      const again = await client.callTool({ name: "echo", arguments: { message: "still here" } });
      assert.match(JSON.stringify(again.content), /still here/);
    });

    test("an unknown tool is a JSON-RPC error, not a hang", async () => {
      await assert.rejects(client.callTool({ name: "no-such-tool", arguments: {} }), /Unknown tool/);
    });

    test("ping", async () => {
      assert.deepEqual(await client.ping(), {});
    });
  });
}

test("two clients on one shared upstream never see each other's sampling requests", async () => {
  const a = await connect("streamable_http", "iso-a");
  const b = await connect("websocket", "iso-b");
  try {
    const rounds = 4;
    const results = await Promise.all(
      Array.from({ length: rounds }, (_, i) => [
        a.callTool({ name: "trigger-sampling-request", arguments: { prompt: `a${i}`, maxTokens: 5 } }),
        b.callTool({ name: "trigger-sampling-request", arguments: { prompt: `b${i}`, maxTokens: 5 } }),
      ]).flat(),
    );
    results.forEach((r, i) => {
      const who = i % 2 === 0 ? "iso-a" : "iso-b";
      const other = i % 2 === 0 ? "iso-b" : "iso-a";
      const text = JSON.stringify(r.content);
      assert.match(text, new RegExp(`answer from ${who}`));
      assert.doesNotMatch(text, new RegExp(`answer from ${other}`));
    });
  } finally {
    await a.close();
    await b.close();
  }
});

test("on the wire, every progress notification precedes the result, with the caller's token", async () => {
  const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=raw`, "mcp");
  const frames: any[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      frames.push(m);
      if (m.id === 2) resolve();
    });
    ws.on("error", reject);
  });
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }));
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 3 }, _meta: { progressToken: "tok" } } }));
  await done;
  ws.close();
  const progress = frames.filter((f) => f.method === "notifications/progress");
  assert.deepEqual(progress.map((p) => [p.params.progress, p.params.progressToken]), [[1, "tok"], [2, "tok"], [3, "tok"]]);
  assert.equal(frames.at(-1).id, 2);
});
