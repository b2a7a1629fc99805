/**
 * Rate-limit keys in the dev profile (issue 18 item 13): anonymous local
 * clients are limited per session, not all together under their shared
 * address; named clients by their client_id. The 429's data names the key
 * and the real time left in the window.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";

const LIST_RACE = fileURLToPath(new URL("../fixtures/list-race-server.ts", import.meta.url));

async function connect(url: string, clientId?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: clientId ?? "anonymous", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), clientId ? { requestInit: { headers: { "x-client-id": clientId } } } : undefined);
  await client.connect(transport);
  return { client, transport };
}

type RpcError = { data?: { error?: string; key?: string; retry_after?: number } };

/** The JSON-RPC error of a refused call: the SDK client reports an HTTP 429 with the body in its message. */
async function refusal(call: Promise<unknown>): Promise<RpcError> {
  const err = (await call.then(() => assert.fail("expected a refusal"), (e: Error) => e)) as Error;
  const json = err.message.slice(err.message.indexOf("{"));
  return (JSON.parse(json) as { error: RpcError }).error;
}

test("anonymous local clients are limited per session; named ones per client_id; the 429 names the key and the real wait", async () => {
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: true, default_limit: 2, window: 60_000 },
    upstreams: [{ name: "race", transport: "stdio", command: process.execPath, args: ["--import", "tsx", LIST_RACE] }],
  });
  const busy = await connect(url);
  const other = await connect(url);
  const named = await connect(url, "named-app");
  try {
    await busy.client.listTools();
    await busy.client.listTools();
    const refused = await refusal(busy.client.listTools());
    assert.equal(refused.data?.error, "rate_limit_exceeded");
    assert.equal(refused.data?.key, `session:${busy.transport.sessionId}`);
    // The window is a minute: the wait is what is left of it, not a token 1 s.
    assert.ok((refused.data?.retry_after ?? 0) > 30 && (refused.data?.retry_after ?? 0) <= 60, `retry_after ${refused.data?.retry_after}`);

    // Another app on the same machine is not locked out by the busy one.
    assert.ok((await other.client.listTools()).tools.length > 0);

    // (Opening its session already counted against user:named-app: session admission takes one.)
    let namedRefused: RpcError | undefined;
    for (let i = 0; i < 3 && !namedRefused; i++) namedRefused = await named.client.listTools().then(() => undefined, (e: Error) => JSON.parse(e.message.slice(e.message.indexOf("{"))).error);
    assert.equal(namedRefused?.data?.key, "user:named-app");
  } finally {
    await busy.client.close();
    await other.client.close();
    await named.client.close();
    await gateway.close();
  }
});
