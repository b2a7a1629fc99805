/**
 * A 5 MiB tool result (multi-byte characters, surrogate pairs, escapes) from
 * a real SDK Streamable HTTP upstream, answering as an SSE event and as an
 * application/json body: the transport hands it on as text (ADR 0211, 0240:
 * `rawParts` is set, so nothing parsed or re-stringified it), and through the
 * gateway it reaches an SDK client intact under the client's own id. Asserts
 * content and the path taken, never time.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { startSdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { startTestGateway } from "../helpers/gateway.js";
import { Inbox, handshakeWith } from "../upstream/helpers.js";
import { StreamableHttpUpstreamTransport } from "../../src/upstream/transports/streamable-http.js";
import { rawParts } from "../../src/protocol/raw-reply.js";
import { bigText } from "../fixtures/big-text.mjs";

const CHARS = 5 * 1024 * 1024;
const expected = bigText(CHARS);

function bigServer(): Server {
  const server = new Server({ name: "big-result-http", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: "big", inputSchema: { type: "object", properties: { chars: { type: "number" } } } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, (req) => ({ content: [{ type: "text", text: bigText(Number(req.params.arguments?.chars ?? 0)) }] }));
  return server;
}

function assertIntact(text: unknown, what: string): void {
  assert.equal(typeof text, "string", `${what}: a text result`);
  const got = text as string;
  if (got === expected) return;
  let i = 0;
  while (i < got.length && got[i] === expected[i]) i++;
  assert.fail(`${what}: ${got.length} chars instead of ${expected.length}, first difference at ${i}: ${JSON.stringify(got.slice(i, i + 20))}`);
}

const textOf = (result: any) => result?.content?.[0]?.text;

for (const [wire, enableJsonResponse] of [["SSE event", false], ["JSON body", true]] as const) {
  test(`a 5 MiB result from a Streamable HTTP upstream (${wire}) is relayed as text and arrives intact`, async () => {
    const upstream = await startSdkHttpUpstream(bigServer, { enableJsonResponse });
    try {
      // The transport alone: the reply is a raw one (its text kept), and reading it still gives the result.
      const t = new StreamableHttpUpstreamTransport({ url: upstream.url });
      const inbox = new Inbox().attach(t);
      await t.start();
      await handshakeWith("2025-06-18")(t, inbox);
      t.send({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "big", arguments: { chars: CHARS } } });
      const reply = await inbox.reply(7);
      const parts = rawParts(reply.msg);
      assert.ok(parts !== undefined, `${wire}: a large reply is kept as text, not parsed`);
      assert.equal(JSON.parse(parts.join("")).id, 7);
      assertIntact(textOf(reply.msg.result), `${wire} (transport)`);
      // A small one still takes the ordinary path.
      t.send({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "big", arguments: { chars: 10 } } });
      const small = await inbox.reply(8);
      assert.equal(rawParts(small.msg), undefined);
      assert.equal(textOf(small.msg.result), bigText(10));
      await t.close();

      // Through the gateway: the upstream's ids and the client's drift apart (a small call first), so the swap is real.
      const { gateway, url } = await startTestGateway({
        upstreams: [{ name: "big", transport: "streamable_http", url: upstream.url, protocol: "legacy" }],
      });
      const client = new Client({ name: "big-http", version: "1.0.0" });
      try {
        await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
        assert.equal(textOf(await client.callTool({ name: "big", arguments: { chars: 10 } })), bigText(10));
        assertIntact(textOf(await client.callTool({ name: "big", arguments: { chars: CHARS } })), `${wire} (gateway)`);
      } finally {
        await client.close().catch(() => {});
        await gateway.close();
      }
    } finally {
      await upstream.close();
    }
  });
}
