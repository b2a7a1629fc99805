// Issue 11 items 1 and 2: one request used to crash the whole process (an uncaught URIError
// from the router's percent-decoding; a WebSocket frame `null` reaching code that read
// `message.method`). Each input must get its catalogue error while the process and the
// connection keep serving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "../helpers/gateway.js";
import { FrameSocket, initialize, rpcOf, trapCrashes } from "../helpers/edge.js";

let gateway: Gateway;
let url: string;
let wsUrl: string;
const trap = trapCrashes();

before(async () => {
  const s = await startTestGateway({ rate_limiting: { enabled: false }, admin: { token: "admin-secret" }, upstreams: [] });
  gateway = s.gateway;
  url = s.url;
  wsUrl = url.replace(/^http/, "ws");
});
after(async () => {
  await gateway?.close();
  trap.dispose();
});

test("item 1: a malformed percent-escape in a :param is answered 400 invalid_request, the process stays up", async () => {
  for (const path of ["/mcp/health/client/%E0%A4%A", "/mcp/admin/clients/%", "/mcp/admin/clients/%ZZ", "/mcp/health/client/%"]) {
    const res = await fetch(url + path);
    const body = (await res.json()) as { error: string; message: string };
    assert.equal(res.status, 400, path);
    assert.equal(body.error, "invalid_request", path);
    assert.match(body.message, /percent-encoding/);
  }
  // A well-formed escape still decodes (and is then simply an unknown client).
  const ok = await fetch(`${url}/mcp/health/client/${encodeURIComponent("a b")}`);
  assert.notEqual(ok.status, 400);
  await ok.arrayBuffer();
  trap.assertNone();
  assert.equal((await fetch(`${url}/mcp/stats`)).status, 200);
});

const NOT_RPC = ["null", "123", '"x"', "[]", "true", "{}"];

for (const protocol of ["mcp", "mcp-gateway.v1"]) {
  test(`item 2: frames that are JSON but not a JSON-RPC object get -32600 on /mcp/ws (${protocol}), the socket and process stay`, async () => {
    const s = await FrameSocket.open(`${wsUrl}/mcp/ws?client_id=crash-${protocol}`, protocol);
    if (protocol === "mcp-gateway.v1") await s.next((f) => f.type === "welcome", "welcome");
    // (`{}` is an envelope frame of no known type on mcp-gateway.v1: it gets the envelope's error frame, below.)
    for (const text of protocol === "mcp" ? NOT_RPC : NOT_RPC.filter((t) => t !== "{}")) {
      s.send(text);
      const err = rpcOf(await s.next((f) => rpcOf(f)?.error !== undefined, `error for ${text}`));
      assert.equal(err.error.code, -32600, `${text}: ${JSON.stringify(err)}`);
      assert.equal(err.id, null);
    }
    if (protocol === "mcp-gateway.v1") {
      s.send("{}");
      assert.equal((await s.next((f) => f.type === "error", "envelope error")).error, "invalid_request");
    }
    s.send(JSON.stringify(initialize(7)));
    const answer = rpcOf(await s.next((f) => rpcOf(f)?.id === 7, "initialize answer"));
    assert.equal(answer.result.serverInfo.name, "mcp-gateway");
    assert.equal(s.closed, undefined);
    await s.close();
    trap.assertNone();
  });
}

test("item 2: Phoenix frames and message payloads that are not JSON-RPC objects get -32600; the socket stays", async () => {
  const s = await FrameSocket.open(`${wsUrl}/mcp/ws/websocket?vsn=2.0.0&client_id=crash-phx`);
  for (const text of NOT_RPC.slice(0, 5)) {
    s.send(text);
    const reply = await s.next((f) => Array.isArray(f) && f[2] === "phoenix" && f[3] === "phx_reply", `reply to ${text}`);
    assert.equal(reply[4].status, "error");
    assert.equal(reply[4].response.code, -32600);
  }
  s.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  const joined = await s.next((f) => Array.isArray(f) && f[1] === "1", "join reply");
  assert.equal(joined[4].status, "ok");
  let ref = 2;
  for (const payload of [null, 123, "x", [], { jsonrpc: "2.0", id: { a: 1 }, method: "ping" }]) {
    const r = String(ref++);
    s.send(JSON.stringify(["1", r, "mcp:gateway", "message", payload]));
    const reply = await s.next((f) => Array.isArray(f) && f[1] === r, `reply to ${JSON.stringify(payload)}`);
    assert.equal(reply[4].status, "error", JSON.stringify(reply));
    assert.equal(reply[4].response.code, -32600);
  }
  s.send(JSON.stringify(["1", "99", "mcp:gateway", "message", initialize(5)]));
  const msg = await s.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === 5, "initialize answer");
  assert.equal(msg[4].message.result.serverInfo.name, "mcp-gateway");
  await s.close();
  trap.assertNone();
});

test("item 2: a handler that throws is answered with a catalogue error and logged; the process stays up", async () => {
  // A route whose handler throws, synchronously and as a rejection: the one guard answers 500 internal_error.
  gateway.router.on("GET", "/test/throws", () => {
    throw new TypeError("boom");
  });
  gateway.router.on("GET", "/test/rejects", async () => {
    throw new TypeError("boom later");
  });
  for (const path of ["/test/throws", "/test/rejects"]) {
    const res = await fetch(url + path);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { error: string }).error, "internal_error");
  }
  // An upgrade handler that throws: refused with 500 before the handshake.
  gateway.upgradeHandlers.set("/test/ws-throws", () => {
    throw new TypeError("boom upgrade");
  });
  await assert.rejects(FrameSocket.open(`${wsUrl}/test/ws-throws`), (e: { status?: number }) => e.status === 500);
  trap.assertNone();
  assert.equal((await fetch(`${url}/mcp/stats`)).status, 200);
});

test("item 2: a message handler that throws answers internal_error on that socket; the socket, its session and the process stay", async () => {
  // A middleware with a bug: throws on one method. Every listener's dispatch runs inside the guard.
  gateway.use((next) => (session, message) => {
    if ((message as { method?: string }).method === "test/boom") throw new TypeError("bug in a handler");
    next(session, message);
  });
  const s = await FrameSocket.open(`${wsUrl}/mcp/ws?client_id=boom`, "mcp");
  s.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "test/boom" }));
  const err = await s.next((f) => f?.id === 1);
  assert.equal(err.error.data.error, "internal_error");
  s.send(JSON.stringify(initialize(2)));
  assert.equal((await s.next((f) => f?.id === 2)).result.serverInfo.name, "mcp-gateway");
  await s.close();
  const p = await FrameSocket.open(`${wsUrl}/mcp/ws/websocket?vsn=2.0.0&client_id=boom-phx`);
  p.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  await p.next((f) => Array.isArray(f) && f[1] === "1");
  p.send(JSON.stringify(["1", "2", "mcp:gateway", "message", { jsonrpc: "2.0", id: 3, method: "test/boom" }]));
  const perr = await p.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === 3);
  assert.equal(perr[4].message.error.data.error, "internal_error");
  await p.close();
  trap.assertNone();
});
