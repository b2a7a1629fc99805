/** The MCP Streamable HTTP rules and bad input, checked on the raw wire. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;
const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } };

before(async () => {
  ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()] }));
});
after(() => gateway?.close());

async function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/mcp`, { method: "POST", headers: { ...H, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

async function newSession(): Promise<string> {
  const res = await post(init);
  assert.equal(res.status, 200);
  const id = res.headers.get("mcp-session-id");
  assert.match(id ?? "", /^[\x21-\x7e]{16,}$/, "a visible-ASCII session id");
  await res.json();
  return id!;
}

test("initialize mints a fresh secure session id each time", async () => {
  const a = await newSession();
  const b = await newSession();
  assert.notEqual(a, b);
});

test("notifications are accepted with 202 and no body", async () => {
  const sid = await newSession();
  const res = await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": sid });
  assert.equal(res.status, 202);
  assert.equal(await res.text(), "");
});

test("a missing session id is 400, an unknown one 404, a deleted one 404", async () => {
  const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
  assert.equal((await post(list)).status, 400);
  assert.equal((await post(list, { "mcp-session-id": "nope" })).status, 404);
  const sid = await newSession();
  const ok = await post(list, { "mcp-session-id": sid });
  assert.equal(ok.status, 200);
  const del = await fetch(`${url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sid } });
  assert.equal(del.status, 200);
  assert.equal((await post(list, { "mcp-session-id": sid })).status, 404);
});

test("an unsupported MCP-Protocol-Version is 400; supported ones pass", async () => {
  const sid = await newSession();
  const list = { jsonrpc: "2.0", id: 3, method: "tools/list" };
  assert.equal((await post(list, { "mcp-session-id": sid, "mcp-protocol-version": "1999-01-01" })).status, 400);
  for (const v of ["2025-11-25", "2025-06-18", "2025-03-26"]) {
    assert.equal((await post(list, { "mcp-session-id": sid, "mcp-protocol-version": v })).status, 200, v);
  }
});

test("malformed JSON is a -32700 parse error with 400, not a stack trace", async () => {
  const res = await post("{not json");
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, -32700);
});

test("batches are rejected with -32600 in a 2025-11-25 session (2025-03-26 ones: streamable-http-batch.test.ts)", async () => {
  const sid = await newSession();
  const res = await post([{ jsonrpc: "2.0", id: 2, method: "ping" }], { "mcp-session-id": sid });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.code, -32600);
  assert.equal(body.error.data.error, "batch_not_supported");
});

test("an invalid request and an unknown method get -32600 and -32601", async () => {
  const sid = await newSession();
  const bad = await (await post({ jsonrpc: "1.0", id: 9, method: "x" }, { "mcp-session-id": sid })).json();
  assert.equal(bad.error.code, -32600);
  const unknown = await (await post({ jsonrpc: "2.0", id: 10, method: "no/such" }, { "mcp-session-id": sid })).json();
  assert.equal(unknown.error.code, -32601);
  assert.equal(unknown.id, 10);
});

test("methods other than GET/POST/DELETE are 405 with Allow", async () => {
  const res = await fetch(`${url}/mcp`, { method: "PUT" });
  assert.equal(res.status, 405);
  assert.match(res.headers.get("allow") ?? "", /POST/);
});

test("wrong Content-Type is 415", async () => {
  const res = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "text/plain", accept: H.accept }, body: "x" });
  assert.equal(res.status, 415);
});

test("DNS rebinding: a foreign Host or Origin is refused with 403", async () => {
  const http = await import("node:http");
  const status = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(`${url}/mcp`, { method: "POST", headers: { ...H, ...headers } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end(JSON.stringify(init));
    });
  assert.equal(await status({ host: "evil.example.com", origin: "http://evil.example.com" }), 403);
  assert.equal(await status({ origin: "http://evil.example.com" }), 403);
  assert.equal(await status({ origin: url }), 200);
});

test("the GET stream carries server-initiated messages; a second client is unaffected", async () => {
  const sid = await newSession();
  const res = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": sid } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  assert.equal(res.headers.get("x-accel-buffering"), "no");
  await res.body?.cancel();
});

test("bad frames on WebSocket get JSON-RPC errors and the socket keeps serving", async () => {
  const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=bad`, "mcp");
  const replies: any[] = [];
  let wake: () => void = () => {};
  ws.on("message", (d) => {
    replies.push(JSON.parse(d.toString()));
    wake();
  });
  await new Promise((r) => ws.once("open", r));
  const next = () => new Promise<any>((r) => (replies.length ? r(replies.shift()) : (wake = () => r(replies.shift()))));
  ws.send("{oops");
  assert.equal((await next()).error.code, -32700);
  ws.send(JSON.stringify([init]));
  assert.equal((await next()).error.code, -32600);
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "does/not/exist" }));
  const unknown = await next();
  assert.equal(unknown.error.code, -32601);
  assert.equal(unknown.id, 5);
  ws.send(JSON.stringify(init));
  assert.equal((await next()).result.serverInfo.name, "mcp-gateway");
  ws.close();
});

test("bad input on the HTTP+SSE POST endpoint", async () => {
  const res = await fetch(`${url}/mcp/messages?session_id=nope`, { method: "POST", headers: H, body: "{}" });
  assert.equal(res.status, 404);
  const missing = await fetch(`${url}/mcp/messages`, { method: "POST", headers: H, body: "{}" });
  assert.equal(missing.status, 400);
});

test("unknown paths are a JSON 404", async () => {
  const res = await fetch(`${url}/nope`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, "not_found");
});

test("health reports the upstream", async () => {
  const res = await fetch(`${url}/health/gateway`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.upstreams.everything.status, "ok");
});
