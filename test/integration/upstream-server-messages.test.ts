/**
 * Server->client traffic from a real SDK v1 Streamable HTTP upstream:
 * notifications tied to the gateway's own requests (issue 18 item 2), and
 * server->client requests attributed by `relatedRequestId` to the one client
 * whose call caused them, only when that client can answer them.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ListToolsRequestSchema,
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
} from "@modelcontextprotocol/sdk/types.js";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";

/** An SDK server that logs from inside its tools/list handler and asks the caller for sampling. */
function buildChattyServer(): Server {
  const server = new Server({ name: "chatty", version: "1.0.0" }, { capabilities: { tools: { listChanged: true }, logging: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    // Sent on the tools/list POST's stream, with relatedRequestId = the gateway's own request.
    await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: "chatty", data: "listing tools" } });
    return {
      tools: [
        { name: "echo", inputSchema: { type: "object", properties: { message: { type: "string" } } } },
        { name: "ask", inputSchema: { type: "object", properties: { question: { type: "string" } } } },
        { name: "relist", inputSchema: { type: "object", properties: {} } },
        { name: "chatter", inputSchema: { type: "object", properties: {} } },
      ],
    };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = (request.params.arguments ?? {}) as Record<string, string>;
    if (request.params.name === "echo") return { content: [{ type: "text", text: `echo: ${args.message}` }] };
    if (request.params.name === "chatter") {
      // Related to this call (it travels on the call's POST stream): one info, one error.
      await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "chatter info" } });
      await extra.sendNotification({ method: "notifications/message", params: { level: "error", data: "chatter error" } });
      return { content: [{ type: "text", text: "chattered" }] };
    }
    if (request.params.name === "relist") {
      await server.sendToolListChanged();
      return { content: [{ type: "text", text: "relisting" }] };
    }
    try {
      const answer = await extra.sendRequest(
        { method: "sampling/createMessage", params: { messages: [{ role: "user", content: { type: "text", text: args.question } }], maxTokens: 10 } },
        CreateMessageResultSchema,
      );
      return { content: [{ type: "text", text: `sampled: ${(answer.content as { text: string }).text}` }] };
    } catch (err) {
      return { isError: true, content: [{ type: "text", text: `sampling failed: ${(err as Error).message}` }] };
    }
  });
  return server;
}

let upstream: SdkHttpUpstream;
let gateway: Gateway;
let url: string;

before(async () => {
  upstream = await startSdkHttpUpstream(buildChattyServer);
  ({ gateway, url } = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [{ name: "chatty", transport: "streamable_http", url: upstream.url }] }));
});

after(async () => {
  await gateway.close();
  await upstream.close();
});

/** An SDK client; with `sampler`, it declares sampling and answers every sampling request with `sampler`'s text. */
async function connect(name: string, sampler?: string): Promise<Client> {
  const client = new Client({ name, version: "1" }, { capabilities: sampler ? { sampling: {} } : {} });
  if (sampler) {
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", model: "test", content: { type: "text", text: sampler } }));
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

test("a log sent while answering the gateway's own tools/list keeps the answer and reaches clients that asked for logs", async () => {
  const client = await connect("logs");
  try {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ["ask", "chatter", "echo", "relist"], "the upstream's tools/list answer was not lost");
    const r = await client.callTool({ name: "echo", arguments: { message: "hi" } });
    assert.match(JSON.stringify(r.content), /echo: hi/);
    await client.setLoggingLevel("info");
    const heard = new Promise<LoggingMessageNotification["params"]>((resolve) =>
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        if (n.params.data === "listing tools") resolve(n.params);
      }),
    );
    // The upstream says list_changed; the gateway's re-list logs again, and that log is fanned out.
    await client.callTool({ name: "relist", arguments: {} });
    assert.equal((await heard).logger, "chatty");
    assert.ok((await client.listTools()).tools.some((t) => t.name === "echo"), "still listed after the re-list");
  } finally {
    await client.close();
  }
});

test("two clients sampling at once over a Streamable HTTP upstream each answer their own request", async () => {
  const alice = await connect("alice", "from alice");
  const bob = await connect("bob", "from bob");
  try {
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        alice.callTool({ name: "ask", arguments: { question: "who?" } }),
        bob.callTool({ name: "ask", arguments: { question: "who?" } }),
      ]);
      assert.match(JSON.stringify(a.content), /sampled: from alice/);
      assert.match(JSON.stringify(b.content), /sampled: from bob/);
    }
  } finally {
    await alice.close();
    await bob.close();
  }
});

test("a server->client request for a client that did not declare the capability is refused upstream, not forwarded", async () => {
  const plain = await connect("no-sampling");
  const sampler = await connect("sampler", "from sampler");
  try {
    const r = await plain.callTool({ name: "ask", arguments: { question: "who?" } });
    assert.equal(r.isError, true);
    assert.match(JSON.stringify(r.content), /no connected client can answer sampling\/createMessage/);
    const ok = await sampler.callTool({ name: "ask", arguments: { question: "who?" } });
    assert.match(JSON.stringify(ok.content), /sampled: from sampler/);
  } finally {
    await plain.close();
    await sampler.close();
  }
});

test("logs related to a client's own call are filtered by the level that client set", async () => {
  const quiet = await connect("quiet");
  const loud = await connect("loud");
  const heard: Record<string, string[]> = { quiet: [], loud: [] };
  quiet.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.quiet!.push(String(n.params.level)));
  loud.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.loud!.push(String(n.params.level)));
  try {
    await quiet.setLoggingLevel("error");
    await loud.setLoggingLevel("debug");
    // The logs travel ahead of the result on the same stream: all delivered once the call resolves.
    await quiet.callTool({ name: "chatter", arguments: {} });
    await loud.callTool({ name: "chatter", arguments: {} });
    assert.deepEqual(heard.quiet, ["error"], "info is below the quiet client's level");
    assert.deepEqual(heard.loud, ["info", "error"]);
  } finally {
    await quiet.close();
    await loud.close();
  }
});
