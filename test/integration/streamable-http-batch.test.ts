/** JSON-RPC batches on Streamable HTTP: allowed in 2025-03-26 sessions (issue 18 item 8), on the raw wire. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;
const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };

before(async () => {
  ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()] }));
});
after(() => gateway?.close());

async function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/mcp`, { method: "POST", headers: { ...H, ...headers }, body: JSON.stringify(body) });
}

/** A session negotiated at `version`, initialized. */
async function session(version: string): Promise<string> {
  const res = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "t", version: "1" } } });
  const sid = res.headers.get("mcp-session-id")!;
  assert.equal((await res.json()).result.protocolVersion, version);
  assert.equal((await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": sid, "mcp-protocol-version": version })).status, 202);
  return sid;
}

test("a 2025-03-26 batch of requests and a notification is answered with one JSON array", async () => {
  const sid = await session("2025-03-26");
  const res = await post(
    [
      { jsonrpc: "2.0", id: 10, method: "tools/list" },
      { jsonrpc: "2.0", method: "notifications/roots/list_changed" },
      { jsonrpc: "2.0", id: "p", method: "ping" },
    ],
    { "mcp-session-id": sid, "mcp-protocol-version": "2025-03-26" },
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = (await res.json()) as { id: unknown; result?: { tools?: unknown[] } }[];
  assert.ok(Array.isArray(body));
  assert.deepEqual(body.map((m) => m.id).sort(), [10, "p"].sort());
  assert.ok((body.find((m) => m.id === 10)!.result!.tools ?? []).length > 0);
});

test("a notifications-only batch is accepted with 202", async () => {
  const sid = await session("2025-03-26");
  const res = await post([{ jsonrpc: "2.0", method: "notifications/roots/list_changed" }], { "mcp-session-id": sid });
  assert.equal(res.status, 202);
  assert.equal(await res.text(), "");
});

test("each element is judged alone: an invalid one gets its error, the others their answers", async () => {
  const sid = await session("2025-03-26");
  const res = await post(
    [{ jsonrpc: "1.0", id: 5, method: "ping" }, { jsonrpc: "2.0", id: 6, method: "ping" }, { jsonrpc: "2.0", id: 6, method: "ping" }, { jsonrpc: "2.0", id: 7, method: "initialize", params: {} }],
    { "mcp-session-id": sid },
  );
  assert.equal(res.status, 200);
  const body = (await res.json()) as { id: unknown; result?: unknown; error?: { code: number } }[];
  assert.equal(body.length, 4);
  assert.equal(body.find((m) => m.id === 5)!.error!.code, -32600);
  assert.equal(body.filter((m) => m.id === 6 && m.result !== undefined).length, 1, "the first id 6 is answered");
  assert.equal(body.filter((m) => m.id === 6 && m.error !== undefined).length, 1, "the duplicate id 6 is refused");
  assert.equal(body.find((m) => m.id === 7)!.error!.code, -32600, "initialize must not be batched");
});

test("a batch whose call reports progress comes back as one SSE stream with every answer", async () => {
  const sid = await session("2025-03-26");
  const res = await post(
    [
      { jsonrpc: "2.0", id: 20, method: "tools/call", params: { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: "t" } } },
      { jsonrpc: "2.0", id: 21, method: "ping" },
    ],
    { "mcp-session-id": sid },
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const messages = (await res.text())
    .split("\n")
    .filter((l) => l.startsWith("data: ") && l.length > 6)
    .map((l) => JSON.parse(l.slice(6)) as { id?: unknown; method?: string });
  assert.ok(messages.some((m) => m.method === "notifications/progress"));
  assert.deepEqual(messages.filter((m) => m.id !== undefined).map((m) => m.id).sort(), [20, 21]);
});

test("a batch in a 2025-06-18 session is still refused with batch_not_supported", async () => {
  const sid = await session("2025-06-18");
  const res = await post([{ jsonrpc: "2.0", id: 2, method: "ping" }], { "mcp-session-id": sid });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.data.error, "batch_not_supported");
});
