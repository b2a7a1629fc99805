/**
 * Streamable HTTP listener edge cases, on the raw wire (issue 18 items 7, 9,
 * 10, and the standalone GET stream carrying live messages), in front of
 * real SDK stdio servers.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "../helpers/gateway.js";
import { streamUpstream } from "../helpers/continuity.js";

const LIST_RACE = fileURLToPath(new URL("../fixtures/list-race-server.ts", import.meta.url));
const BOTH = "application/json, text/event-stream";
const INIT = { jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };

let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    routing: { prefix: "never" },
    upstreams: [streamUpstream(), { name: "race", transport: "stdio", command: process.execPath, args: ["--import", "tsx", LIST_RACE] }],
  }));
});

after(async () => {
  await gateway.close();
});

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: BOTH, ...headers }, body: JSON.stringify(body) });
}

/** A fresh initialized session; returns its headers for later requests. */
async function session(): Promise<Record<string, string>> {
  const res = await post(INIT);
  assert.equal(res.status, 200);
  await res.text();
  const headers = { "mcp-session-id": res.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-06-18" };
  const ack = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  assert.equal(ack.status, 202);
  return headers;
}

/** Reads an SSE body until `done(text)` holds (bounded by the body ending). */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => {});
  return text;
}

test("a POST that does not accept both application/json and text/event-stream gets 406", async () => {
  for (const accept of ["application/json", "text/event-stream"]) {
    const res = await post(INIT, { accept });
    assert.equal(res.status, 406, accept);
    const body = await res.json();
    assert.equal(body.error.data.error, "not_acceptable");
  }
  const ok = await post(INIT);
  assert.equal(ok.status, 200);
  await ok.text();
});

test("transport-level errors name the request id once it was parsed", async () => {
  const unknown = await post({ jsonrpc: "2.0", id: 41, method: "tools/list" }, { "mcp-session-id": "no-such-session" });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).id, 41);
  const missing = await post({ jsonrpc: "2.0", id: "req-7", method: "tools/list" });
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).id, "req-7");
  const headers = await session();
  const badVersion = await post({ jsonrpc: "2.0", id: 9, method: "tools/list" }, { ...headers, "mcp-protocol-version": "1999-01-01" });
  assert.equal(badVersion.status, 400);
  assert.equal((await badVersion.json()).id, 9);
  // A notification has no id to name.
  const note = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": "no-such-session" });
  assert.equal((await note.json()).id, null);
});

test("resuming after the last event of a finished stream ends at once with nothing replayed", async () => {
  const headers = await session();
  const call = { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 2 }, _meta: { progressToken: "p" } } };
  const res = await post(call, headers);
  assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
  const text = await res.text();
  assert.match(text, /"id":5/);
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]!);
  const last = ids.at(-1)!;
  const resumed = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream", "last-event-id": last, ...headers } });
  assert.equal(resumed.status, 200);
  // Resolves only when the gateway ends the stream.
  const replay = await resumed.text();
  assert.doesNotMatch(replay, /^data: \{/m, "nothing replayed");
});

test("the standalone GET stream delivers live messages (list_changed after an upstream's list changed)", async () => {
  const headers = await session();
  const stream = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream", ...headers } });
  assert.equal(stream.status, 200);
  const heard = readUntil(stream, (t) => t.includes("notifications/tools/list_changed"));
  const call = await post({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "add_tool", arguments: { name: "live_tool" } } }, headers);
  await call.text();
  assert.match(await heard, /notifications\/tools\/list_changed/);
});
