// Issue 11 items 3 and 4: client mistakes never count against a breaker. Six bare JSON
// numbers used to surface as internal_error and open the HTTP+SSE / WebSocket transport
// breaker for everyone; five tools/call nesting 6,000 levels deep used to make the upstream
// transport's JSON.stringify throw, counted as upstream_unavailable, opening the upstream's
// breaker. Now both are refused at the edge (invalid_request / nesting_too_deep) and every
// breaker stays closed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Gateway } from "../../src/gateway.js";
import { UpstreamConnection } from "../../src/upstream/connection.js";
import { GatewayError } from "../../src/errors/index.js";
import type { Transport } from "../../src/protocol/transport.js";
import { fixtureUpstream, startTestGateway } from "../helpers/gateway.js";
import { FrameSocket, initialize, trapCrashes } from "../helpers/edge.js";
import { channels } from "../../src/telemetry/channels.js";

let gateway: Gateway;
let url: string;
const trap = trapCrashes();
const THRESHOLD = 2;

before(async () => {
  const s = await startTestGateway({
    rate_limiting: { enabled: false },
    circuit_breaker: { failure_threshold: THRESHOLD, reset_timeout: 60_000 },
    upstreams: [fixtureUpstream()],
  });
  gateway = s.gateway;
  url = s.url;
});
after(async () => {
  await gateway?.close();
  trap.dispose();
});

function breakers() {
  return gateway.resilience!.breakerStates();
}

function assertAllClosed(label: string) {
  for (const b of breakers()) assert.equal(b.state, "closed", `${label}: ${b.kind} ${b.target} is ${b.state} after ${b.failures} failures`);
}

/** Opens an HTTP+SSE session; resolves with its POST url and a reader of `message` events. */
async function openSse(clientId: string) {
  const res = await fetch(`${url}/mcp/sse?client_id=${clientId}`, { headers: { accept: "text/event-stream" } });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const events: Array<{ event: string; data: string }> = [];
  const read = async (match: (e: { event: string; data: string }) => boolean) => {
    for (;;) {
      const i = events.findIndex(match);
      if (i >= 0) return events.splice(i, 1)[0]!;
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = block
          .split("\n")
          .filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6))
          .join("\n");
        events.push({ event, data });
      }
    }
  };
  const endpoint = (await read((e) => e.event === "endpoint")).data;
  return { post: url + endpoint, read, close: () => reader.cancel() };
}

test("item 3: bare JSON numbers on HTTP+SSE and WebSocket never open a transport breaker", async () => {
  const ws = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws?client_id=numbers-ws`, "mcp");
  for (let i = 0; i < 3 * THRESHOLD; i++) ws.send("123");
  for (let i = 0; i < 3 * THRESHOLD; i++) assert.equal((await ws.next((f) => f?.error !== undefined)).error.code, -32600);
  const sse = await openSse("numbers-sse");
  for (let i = 0; i < 3 * THRESHOLD; i++) {
    const res = await fetch(sse.post, { method: "POST", headers: { "content-type": "application/json" }, body: "123" });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: number } }).error.code, -32600);
  }
  assertAllClosed("after bare numbers");
  // A well-behaved client on the same transports is still served.
  ws.send(JSON.stringify(initialize(1)));
  assert.equal((await ws.next((f) => f?.id === 1)).result.serverInfo.name, "mcp-gateway");
  await fetch(sse.post, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(initialize(2)) });
  assert.match((await sse.read((e) => e.event === "message" && e.data.includes('"id":2'))).data, /mcp-gateway/);
  await ws.close();
  await sse.close();
  trap.assertNone();
});

/** Tool arguments nested `depth` levels deep (~2 bytes per level). */
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** A tools/call body whose arguments nest `depth` arrays (written as text: JSON.stringify itself cannot go that deep). */
function deepCallBody(id: number, depth: number): string {
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"test_simple_text","arguments":{"x":${"[".repeat(depth)}1${"]".repeat(depth)}}}}`;
}

async function mcpSession(): Promise<(body: unknown) => Promise<Response>> {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify(initialize(0)) });
  const sid = init.headers.get("mcp-session-id")!;
  await init.arrayBuffer();
  const h = { ...headers, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
  await (await fetch(`${url}/mcp`, { method: "POST", headers: h, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).arrayBuffer();
  return (body) => fetch(`${url}/mcp`, { method: "POST", headers: h, body: typeof body === "string" ? body : JSON.stringify(body) });
}

test("item 4: tools/call nesting 6,000 levels deep is refused at the edge (nesting_too_deep) and never opens the upstream breaker", async () => {
  const post = await mcpSession();
  const calls = await Promise.all(
    Array.from({ length: 5 }, (_, i) => post(deepCallBody(10 + i, 6000))),
  );
  for (const res of calls) {
    assert.equal(res.status, 400);
    const body = (await res.json()) as { id: number; error: { code: number; data: { error: string; limit: number } } };
    assert.equal(body.error.code, -32600);
    assert.equal(body.error.data.error, "nesting_too_deep");
    assert.equal(body.error.data.limit, 100, "the default server.max_json_depth");
  }
  assertAllClosed("after deep calls");
  // Within the limit: served as before.
  const ok = await post({ jsonrpc: "2.0", id: 20, method: "tools/call", params: { name: "test_simple_text", arguments: { x: deep(90) } } });
  assert.equal(ok.status, 200);
  assert.match(JSON.stringify(await ok.json()), /simple text response/);
  trap.assertNone();
});

test("item 4: a request that cannot be serialized for the upstream is the client's failure (invalid_request), not upstream_unavailable", () => {
  // A wire that serializes like the real ones (stdio, HTTP, WebSocket all JSON.stringify the message).
  const wire = { start: async () => {}, send: (m: unknown) => JSON.stringify(m), close: async () => {} } as unknown as Transport;
  const connection = new UpstreamConnection("u", "u#1", wire);
  const call = { upstreamId: 0, originalId: 1, method: "tools/call", sink: { onUpstreamResponse() {} }, startedAt: Date.now(), deadline: Date.now() + 1000 } as never;
  assert.throws(
    () => connection.forward({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { arguments: deep(20_000) as Record<string, unknown> } }, call),
    (e: unknown) => e instanceof GatewayError && e.code === "invalid_request",
  );
});

test("item 3: a client too slow to read (backpressure_dropped) does not count against its transport's breaker", async () => {
  const ws = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws?client_id=slow-reader`, "mcp");
  // What the delivery path reports when it gives up on that client.
  for (let i = 0; i < 3 * THRESHOLD; i++) channels.error.publish({ type: "request", code: "backpressure_dropped", message: "dropped", clientId: "slow-reader", transport: "websocket" });
  assertAllClosed("after backpressure drops");
  await ws.close();
});
