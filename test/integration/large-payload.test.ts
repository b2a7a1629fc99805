/**
 * A 5 MiB tool result (multi-byte characters, surrogate pairs, escapes) from
 * a real SDK stdio upstream arrives intact, under the client's own id, on
 * every client transport: Streamable HTTP, HTTP+SSE, WebSocket and Phoenix
 * (the text path of ADR 0211), and to a 2026-07-28 client (whose edge parses
 * the result after all). Asserts content, never time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { startTestGateway } from "../helpers/gateway.js";
import { WsClient } from "../helpers/ws-client.js";
import { FrameSocket } from "../helpers/edge.js";
import { bigText } from "../fixtures/big-text.mjs";

const CHARS = 5 * 1024 * 1024;
const expected = bigText(CHARS);

function assertIntact(text: unknown, transport: string): void {
  assert.equal(typeof text, "string", `${transport}: a text result`);
  const got = text as string;
  if (got === expected) return;
  let i = 0;
  while (i < got.length && got[i] === expected[i]) i++;
  assert.fail(`${transport}: ${got.length} chars instead of ${expected.length}, first difference at ${i}: ${JSON.stringify(got.slice(i, i + 20))}`);
}

const textOf = (result: any) => result?.content?.[0]?.text;

test("a 5 MiB result arrives intact on Streamable HTTP, HTTP+SSE, WebSocket and Phoenix, and on the modern wire", async () => {
  const { gateway, url } = await startTestGateway({
    upstreams: [{ name: "big", transport: "stdio", command: process.execPath, args: ["test/fixtures/big-result-server.mjs"], protocol: "legacy" }],
  });
  const closers: Array<() => Promise<unknown>> = [];
  try {
    // Streamable HTTP and HTTP+SSE through the official SDK client (it matches answers to its ids).
    for (const [name, transport] of [
      ["streamable_http", () => new StreamableHTTPClientTransport(new URL(`${url}/mcp`))],
      ["http_sse", () => new SSEClientTransport(new URL(`${url}/mcp/sse?client_id=big-sse`))],
    ] as const) {
      const client = new Client({ name, version: "1.0.0" });
      await client.connect(transport());
      closers.push(() => client.close());
      // A small call first: the upstream's ids and the client's drift apart, so the swap is real.
      assert.equal(textOf(await client.callTool({ name: "big", arguments: { chars: 10 } })), bigText(10));
      assertIntact(textOf(await client.callTool({ name: "big", arguments: { chars: CHARS } })), name);
    }

    // The modern (2026-07-28) edge adds resultType and _meta, so it reads the result: the lazily parsed path.
    const modern = new ModernClient({ name: "big-modern", version: "1.0.0" }, { capabilities: {}, versionNegotiation: { mode: { pin: "2026-07-28" } } } as never);
    await modern.connect(new ModernTransport(new URL(`${url}/mcp`)));
    closers.push(() => modern.close());
    assertIntact(textOf(await modern.callTool({ name: "big", arguments: { chars: CHARS } })), "modern streamable_http");

    const ws = await WsClient.open(url, "big-ws");
    closers.push(() => ws.close());
    await ws.initialize();
    const answer = await ws.request("tools/call", { name: "big", arguments: { chars: CHARS } });
    assertIntact(textOf(answer.result), "websocket");

    const phx = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws/websocket?vsn=2.0.0&client_id=big-phx`);
    closers.push(() => phx.close());
    phx.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
    assert.equal((await phx.next((f) => Array.isArray(f) && f[1] === "1")).at(4).status, "ok");
    phx.send(JSON.stringify(["1", "2", "mcp:gateway", "message", { jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "phx", version: "1" } } }]));
    await phx.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === "init");
    phx.send(JSON.stringify(["1", "3", "mcp:gateway", "message", { jsonrpc: "2.0", method: "notifications/initialized" }]));
    phx.send(JSON.stringify(["1", "4", "mcp:gateway", "message", { jsonrpc: "2.0", id: "big-é", method: "tools/call", params: { name: "big", arguments: { chars: CHARS } } }]));
    const frame = await phx.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === "big-é");
    assertIntact(textOf(frame[4].message.result), "phoenix");
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await gateway.close();
  }
});
