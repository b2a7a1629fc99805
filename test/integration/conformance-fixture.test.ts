// Smoke test of the conformance fixture (test/fixtures/conformance-server.ts) with the SDK client:
// fast, in-process, no Node 22 needed (the full suite runs via scripts/conformance.sh).
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { startConformanceServer } from "../fixtures/conformance-server.js";

const FIXTURE_PATH = fileURLToPath(new URL("../fixtures/conformance-server.ts", import.meta.url));

const EXPECTED_TOOLS = [
  "test_simple_text",
  "test_image_content",
  "test_audio_content",
  "test_embedded_resource",
  "test_multiple_content_types",
  "test_tool_with_logging",
  "test_error_handling",
  "test_tool_with_progress",
  "test_sampling",
  "test_elicitation",
  "test_elicitation_sep1034_defaults",
  "test_elicitation_sep1330_enums",
  "json_schema_2020_12_tool",
  "test_reconnection",
];

function newClient(): Client {
  return new Client(
    { name: "conformance-fixture-test", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: {} } },
  );
}

function postWithHost(url: string, host: string): Promise<number> {
  const u = new URL(url);
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: "POST",
        headers: {
          host,
          origin: `http://${host}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

test("conformance fixture over Streamable HTTP: lists tools and calls them", async (t) => {
  const fixture = await startConformanceServer(0);
  t.after(() => fixture.close());
  assert.match(fixture.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

  const client = newClient();
  const transport = new StreamableHTTPClientTransport(new URL(fixture.url));
  await client.connect(transport);
  t.after(() => client.close());
  assert.ok(transport.sessionId, "stateful session id");

  const caps = client.getServerCapabilities();
  assert.ok(caps?.tools && caps.prompts && caps.logging && caps.completions);
  assert.equal(caps?.resources?.subscribe, true);

  const { tools } = await client.listTools();
  const names = tools.map((tool) => tool.name);
  for (const name of EXPECTED_TOOLS) assert.ok(names.includes(name), `tool ${name} is listed`);
  for (const tool of tools) assert.ok(tool.description, `${tool.name} has a description`);

  const schema = tools.find((tool) => tool.name === "json_schema_2020_12_tool")?.inputSchema as Record<string, unknown>;
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.ok((schema.$defs as Record<string, unknown>).address);
  assert.equal(schema.additionalProperties, false);
  // SEP-2106 keywords (checked through the gateway by conformance-next's json-schema-2020-12 scenario).
  assert.equal((schema.$defs as Record<string, { $anchor?: string }>).address.$anchor, "address");
  assert.ok(Array.isArray(schema.allOf) && (schema.allOf as Array<{ anyOf?: unknown }>).some((s) => Array.isArray(s.anyOf)));
  assert.ok(schema.if && schema.then && schema.else);

  const simple = await client.callTool({ name: "test_simple_text" });
  assert.deepEqual(simple.content, [{ type: "text", text: "This is a simple text response for testing." }]);

  // server-initiated request round trip, on the call's own stream
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: "assistant",
    content: { type: "text", text: "pong" },
    model: "test-model",
    stopReason: "endTurn",
  }));
  const sampled = await client.callTool({ name: "test_sampling", arguments: { prompt: "ping" } });
  assert.deepEqual(sampled.content, [{ type: "text", text: "LLM response: pong" }]);

  let elicited = false;
  client.setRequestHandler(ElicitRequestSchema, async () => {
    elicited = true;
    return { action: "accept", content: { username: "u", email: "u@example.com" } };
  });
  const elicitation = await client.callTool({ name: "test_elicitation", arguments: { message: "hi" } });
  assert.ok(elicited);
  assert.match(JSON.stringify(elicitation.content), /action=accept/);

  // progress notifications arrive before the result
  const progress: number[] = [];
  await client.callTool({ name: "test_tool_with_progress" }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  assert.deepEqual(progress, [0, 50, 100]);

  // the stream is closed mid-call; the SDK client resumes it with Last-Event-ID
  const reconnection = await client.callTool({ name: "test_reconnection" });
  assert.deepEqual(reconnection.content, [{ type: "text", text: "Reconnection test completed successfully" }]);

  const template = await client.readResource({ uri: "test://template/42/data" });
  assert.match(JSON.stringify(template.contents), /Data for ID: 42/);

  const completion = await client.complete({
    ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
    argument: { name: "arg1", value: "par" },
  });
  assert.deepEqual(completion.completion.values, ["paris", "park", "party"]);
});

test("conformance fixture rejects non-local Host headers (DNS rebinding protection)", async (t) => {
  const fixture = await startConformanceServer(0);
  t.after(() => fixture.close());
  const port = new URL(fixture.url).port;
  assert.equal(await postWithHost(fixture.url, "evil.example.com"), 403);
  assert.equal(await postWithHost(fixture.url, `127.0.0.1:${port}`), 200);
  assert.equal(await postWithHost(fixture.url, `localhost:${port}`), 200);
});

test("conformance fixture over stdio: lists tools and calls one", async (t) => {
  const client = newClient();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--import", "tsx", FIXTURE_PATH, "--stdio"],
    stderr: "ignore",
  });
  await client.connect(transport);
  t.after(() => client.close());

  const { tools } = await client.listTools();
  assert.ok(tools.some((tool) => tool.name === "test_simple_text"));
  const result = await client.callTool({ name: "test_error_handling" });
  assert.equal(result.isError, true);
});
