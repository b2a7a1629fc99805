/**
 * The modern wire's error contract and MRTR edges over raw HTTP (what an SDK
 * would hide): ids on every error, HTTP statuses, header checks, sealed state
 * refused when tampered or replayed for another request, the input timeout.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway, fixtureUpstream } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import type { ModernService } from "../../src/eras/modern/service.js";

let gateway: Gateway;
let mcp: string;
const META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } };

before(async () => {
  let url: string;
  ({ gateway, url } = await startTestGateway({ upstreams: [fixtureUpstream("fx")], rate_limiting: { enabled: false }, modern: { input_timeout: 300 } } as never));
  mcp = `${url}/mcp`;
});
after(() => gateway.close());

async function post(method: string, params: unknown, headers: Record<string, string> = {}, id: number | string = 1) {
  const p = params as { name?: string; uri?: string };
  const name = p.name ?? p.uri;
  const r = await fetch(mcp, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": method, ...(name ? { "mcp-name": name } : {}), ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
  });
  return { status: r.status, body: (await r.json()) as { id: unknown; result?: Record<string, any>; error?: { code: number; data?: Record<string, any> } } };
}

test("envelope, version and header errors carry the id and the revision's codes", async () => {
  let r = await post("tools/list", { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } }, {}, "a");
  assert.deepEqual([r.status, r.body.id, r.body.error?.code], [400, "a", -32602]);
  r = await post("tools/list", { _meta: { ...META, "io.modelcontextprotocol/protocolVersion": "1999-01-01" } }, { "mcp-protocol-version": "1999-01-01" }, 7);
  assert.deepEqual([r.status, r.body.id, r.body.error?.code, r.body.error?.data?.requested], [400, 7, -32022, "1999-01-01"]);
  assert.ok(r.body.error?.data?.supported.includes("2026-07-28"));
  r = await post("tools/call", { name: "test_simple_text", arguments: {}, _meta: META }, { "mcp-name": "other_tool" }, 8);
  assert.deepEqual([r.status, r.body.id, r.body.error?.code], [400, 8, -32020]);
  r = await post("tools/list", { _meta: META }, { "mcp-method": "prompts/list" }, 9);
  assert.deepEqual([r.status, r.body.error?.code], [400, -32020]);
  r = await post("tools/call", { name: "test_simple_text", arguments: {}, _meta: META }, { "mcp-name": "" }, 12);
  assert.deepEqual([r.status, r.body.error?.code], [400, -32020], "a name in the body needs its Mcp-Name header");
  r = await post("tools/call", { name: "test_simple_text", arguments: {}, _meta: META }, { "mcp-name": `=?base64?${Buffer.from("test_simple_text").toString("base64")}?=` }, 13);
  assert.equal(r.body.result?.resultType, "complete", "a base64-encoded Mcp-Name is decoded before the comparison");
  r = await post("logging/setLevel", { level: "info", _meta: META }, {}, 10);
  assert.deepEqual([r.status, r.body.id, r.body.error?.code], [404, 10, -32601]);
  r = await post("resources/read", { uri: "test://nope", _meta: META }, {}, 11);
  assert.deepEqual([r.body.error?.code, r.body.error?.data?.uri], [-32602, "test://nope"]);
});

test("a stray session header is ignored; GET and DELETE are 405 on the modern wire", async () => {
  const r = await post("tools/call", { name: "test_simple_text", arguments: {}, _meta: META }, { "mcp-session-id": "not-a-session" });
  assert.equal(r.status, 200);
  assert.equal(r.body.result?.resultType, "complete");
  assert.equal(r.body.result?._meta["io.modelcontextprotocol/serverInfo"].name, "mcp-gateway");
  for (const method of ["GET", "DELETE"]) {
    const g = await fetch(mcp, { method, headers: { "mcp-protocol-version": "2026-07-28", accept: "text/event-stream" } });
    await g.body?.cancel();
    assert.equal(g.status, 405);
  }
});

test("lists carry caching hints in a deterministic order", async () => {
  const r = await post("resources/list", { _meta: META });
  assert.equal(r.body.result?.cacheScope, "public");
  assert.equal(typeof r.body.result?.ttlMs, "number");
  const uris = (r.body.result?.resources as { uri: string }[]).map((x) => x.uri);
  assert.deepEqual(uris, [...uris].sort());
});

test("sealed requestState: tampered, or presented for another tool, is refused; the retry completes", async () => {
  const first = await post("tools/call", { name: "test_input_required_result_elicitation", arguments: {}, _meta: META });
  assert.equal(first.body.result?.resultType, "input_required");
  assert.deepEqual(Object.keys(first.body.result?.inputRequests), ["user_name"]);
  const state = first.body.result?.requestState as string;
  const answer = { user_name: { action: "accept", content: { name: "Ada" } } };
  let r = await post("tools/call", { name: "test_input_required_result_elicitation", arguments: {}, _meta: META, inputResponses: answer, requestState: `${state}x` }, {}, 2);
  assert.deepEqual([r.status, r.body.error?.code, r.body.error?.data?.error], [400, -32602, "sealed_state_invalid"]);
  r = await post("tools/call", { name: "test_simple_text", arguments: {}, _meta: META, inputResponses: answer, requestState: state }, {}, 3);
  assert.equal(r.body.error?.data?.error, "sealed_state_invalid");
  // A leaked state is useless to another client: it is bound to the one it was issued to.
  r = await post("tools/call", { name: "test_input_required_result_elicitation", arguments: {}, _meta: META, inputResponses: answer, requestState: state }, { "x-client-id": "someone-else" }, 31);
  assert.deepEqual([r.status, r.body.error?.data?.error], [400, "sealed_state_invalid"]);
  assert.match(String((r.body.error as { message?: string }).message), /another client/);
  r = await post("tools/call", { name: "test_input_required_result_elicitation", arguments: {}, _meta: META, inputResponses: answer, requestState: state }, {}, 4);
  assert.equal(r.body.id, 4);
  assert.match(JSON.stringify(r.body.result?.content), /Hello, Ada!/);
  assert.deepEqual([r.body.result?.ttlMs, r.body.result?.cacheScope], [undefined, undefined], "tools/call results carry no cache hint");
});

test("a client that never retries: the held call ends at modern.input_timeout, and a late retry is refused, never re-run", async () => {
  const bridge = (gateway.context.modern as ModernService).bridge;
  const first = await post("tools/call", { name: "test_input_required_result_request_state", arguments: {}, _meta: META });
  assert.equal(first.body.result?.resultType, "input_required");
  assert.equal(bridge.held, 1);
  // No event leaves the gateway when a held call times out: poll, bounded in count and time.
  for (let i = 0; i < 100 && bridge.held > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(bridge.held, 0, "the held call was released at the timeout");
  const late = await post("tools/call", { name: "test_input_required_result_request_state", arguments: {}, _meta: META, inputResponses: { confirm: { action: "accept", content: { ok: true } } }, requestState: first.body.result?.requestState }, {}, 5);
  assert.deepEqual([late.status, late.body.id, late.body.error?.code, late.body.error?.data?.error], [400, 5, -32045, "input_call_gone"]);
  assert.match(late.body.error!.message, /timed out/);
});
