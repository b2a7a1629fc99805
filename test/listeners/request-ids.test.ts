// Issue 11 item 5: POSTs used to hang forever when the id was an object, array, boolean or
// null (also on a notification), or duplicated one in flight in the same session (19 of 20
// hung; 1 and "1" collided). Invalid ids get -32600 at once, duplicates a clear
// duplicate_request_id, and ids are compared by JSON type and value.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Gateway } from "../../src/gateway.js";
import { startStreamGateway } from "../helpers/continuity.js";
import { FrameSocket, initialize, trapCrashes } from "../helpers/edge.js";

let gateway: Gateway;
let url: string;
const trap = trapCrashes();

before(async () => {
  const s = await startStreamGateway();
  gateway = s.gateway;
  url = s.url;
});
after(async () => {
  await gateway?.close();
  trap.dispose();
});

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function session(): Promise<{ id: string; post: (body: unknown) => Promise<Response> }> {
  const init = await fetch(`${url}/mcp`, { method: "POST", headers: HEADERS, body: JSON.stringify(initialize(0)) });
  const id = init.headers.get("mcp-session-id")!;
  await init.arrayBuffer();
  const h = { ...HEADERS, "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" };
  const post = (body: unknown) => fetch(`${url}/mcp`, { method: "POST", headers: h, body: typeof body === "string" ? body : JSON.stringify(body) });
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).arrayBuffer();
  return { id, post };
}

/** Resolves once the session has request `id` in flight upstream (checked on each turn of the event loop, bounded). */
async function inFlight(sessionId: string, id: number | string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (gateway.registry.get(sessionId)?.inflight?.has(id)) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`request ${JSON.stringify(id)} never went in flight`);
}

test("item 5: ids that are objects, arrays, booleans, null or fractions get -32600 at once, notifications with such ids too", async () => {
  const { post } = await session();
  for (const id of [{}, [], true, false, null, 1.5, { a: 1 }]) {
    for (const body of [
      { jsonrpc: "2.0", id, method: "tools/list" },
      { jsonrpc: "2.0", id, method: "notifications/cancelled", params: { requestId: 1 } },
    ]) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const answer = (await res.json()) as { id: unknown; error: { code: number } };
      assert.equal(answer.error.code, -32600);
      assert.equal(answer.id, null);
    }
  }
  const ok = await post({ jsonrpc: "2.0", id: "fine", method: "tools/list" });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { id: string }).id, "fine");
  trap.assertNone();
});

test("item 5: 20 concurrent requests with one id: the first is served, 19 get duplicate_request_id at once", async () => {
  const { id: sid, post } = await session();
  const call = (id: number | string) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "sleep", arguments: { ms: 1500 } } });
  const first = post(call(1));
  await inFlight(sid, 1);
  const dups = await Promise.all(Array.from({ length: 19 }, () => post(call(1))));
  for (const res of dups) {
    assert.equal(res.status, 409);
    const body = (await res.json()) as { id: number; error: { code: number; data: { error: string } } };
    assert.equal(body.id, 1);
    assert.equal(body.error.code, -32600);
    assert.equal(body.error.data.error, "duplicate_request_id");
  }
  // "1" is another id than 1 (JSON type and value): served alongside, each on its own POST.
  const asString = post(call("1"));
  const [a, b] = await Promise.all([first, asString]);
  const ja = (await a.json()) as { id: unknown; result: { content: Array<{ text: string }> } };
  const jb = (await b.json()) as { id: unknown; result: { content: Array<{ text: string }> } };
  assert.equal(ja.id, 1);
  assert.equal(jb.id, "1");
  assert.equal(ja.result.content[0]!.text, "slept 1500");
  assert.equal(jb.result.content[0]!.text, "slept 1500");
  // Once answered, the id may be used again.
  const again = await post({ jsonrpc: "2.0", id: 1, method: "ping" });
  assert.equal(again.status, 200);
  await again.arrayBuffer();
  trap.assertNone();
});

test("item 5: on WebSocket a duplicate in-flight id gets duplicate_request_id; 1 and \"1\" do not collide", async () => {
  const ws = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws?client_id=ids-ws`, "mcp");
  ws.send(JSON.stringify(initialize(0)));
  await ws.next((f) => f?.id === 0);
  const call = (id: number | string) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "sleep", arguments: { ms: 300 } } });
  ws.send(call(7));
  const sid = gateway.registry.byClient("ids-ws")[0]!.id;
  await inFlight(sid, 7);
  ws.send(call(7));
  const dup = await ws.next((f) => f?.id === 7 && f.error);
  assert.equal(dup.error.data.error, "duplicate_request_id");
  ws.send(call("7"));
  const answers = [await ws.next((f) => f?.id === 7 && f.result), await ws.next((f) => f?.id === "7" && f.result)];
  for (const a of answers) assert.equal(a.result.content[0].text, "slept 300");
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: null, method: "ping" }));
  assert.equal((await ws.next((f) => f?.id === null && f.error)).error.code, -32600);
  await ws.close();
  trap.assertNone();
});
