/**
 * The era matrix, modern-client half: an SDK v2 client
 * (`@modelcontextprotocol/client`), pinned to 2026-07-28 and in `auto` mode,
 * through the gateway to SDK v1 server-everything (legacy) and the SDK v2
 * fixture (modern-only and dual-era), over stdio and Streamable HTTP.
 * Per upstream: list tools, call a tool, one server->client round trip
 * (legacy upstreams: the gateway's MRTR bridge; modern upstreams:
 * `input_required` passed through, sealed by the gateway).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
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

type Mode = "pin" | "auto";

async function modernClient(mode: Mode): Promise<{ client: Client; asked: string[] }> {
  const client = new Client(
    { name: `v2-client-${mode}`, version: "2.0.0" },
    { capabilities: { sampling: {}, elicitation: { form: {} } }, versionNegotiation: { mode: mode === "pin" ? { pin: "2026-07-28" } : "auto" } },
  );
  const asked: string[] = [];
  client.setRequestHandler("elicitation/create", async () => {
    asked.push("elicitation");
    return { action: "accept", content: { ok: true } };
  });
  client.setRequestHandler("sampling/createMessage", async () => {
    asked.push("sampling");
    return { role: "assistant", model: "test-model", content: { type: "text", text: "hello from the client" } };
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return { client, asked };
}

for (const mode of ["pin", "auto"] as Mode[]) {
  test(`v2 client (${mode}) negotiates 2026-07-28 with the gateway`, async () => {
    const { client } = await modernClient(mode);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    } finally {
      await client.close();
    }
  });

  for (const name of ["v1s", "v1h"]) {
    test(`v2 client (${mode}) -> ${name} (SDK v1 server-everything, legacy): list, call, sampling via the bridge`, async () => {
      const { client, asked } = await modernClient(mode);
      try {
        const tools = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(tools.includes(`${name}__echo`), tools.join(", "));
        const echoed = await client.callTool({ name: `${name}__echo`, arguments: { message: "hi modern" } });
        assert.match(JSON.stringify(echoed.content), /hi modern/);
        const sampled = await client.callTool({ name: `${name}__trigger-sampling-request`, arguments: { prompt: "p", maxTokens: 5 } });
        assert.match(JSON.stringify(sampled.content), /hello from the client/);
        assert.deepEqual(asked, ["sampling"]);
      } finally {
        await client.close();
      }
    });
  }

  for (const name of ["v2ms", "v2mh", "v2ds", "v2dh"]) {
    test(`v2 client (${mode}) -> ${name} (SDK v2 server, modern): list, call, elicitation and sampling via MRTR`, async () => {
      const { client, asked } = await modernClient(mode);
      try {
        const tools = (await client.listTools()).tools.map((t) => t.name);
        assert.ok(tools.includes(`${name}__confirm`), tools.join(", "));
        const echoed = await client.callTool({ name: `${name}__echo`, arguments: { text: "hi" } });
        assert.deepEqual(echoed.content, [{ type: "text", text: "echo: hi" }]);
        const confirmed = await client.callTool({ name: `${name}__confirm`, arguments: {} });
        assert.deepEqual(confirmed.content, [{ type: "text", text: "confirmed: true" }]);
        const sampled = await client.callTool({ name: `${name}__sample`, arguments: {} });
        assert.deepEqual(sampled.content, [{ type: "text", text: "sampled: hello from the client" }]);
        assert.deepEqual(asked, ["elicitation", "sampling"]);
      } finally {
        await client.close();
      }
    });
  }
}
