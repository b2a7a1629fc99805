// The operator HTTP surface against a live gateway with real WebSocket
// clients: auth, client info and 404, stats, traces, errors by transport,
// 1006 analysis, connection patterns, old/idle cleanup, reset, config
// validation, logging switches, memory/queues, 501 without a service.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { channels, type ConnectionEvent } from "../../src/telemetry/channels.js";
import { WsClient } from "../helpers/ws-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const everything = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const AUTH = { authorization: "Bearer admin-token" };

let gateway: Gateway;
let url: string;
const open: WsClient[] = [];

async function get(path: string, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> {
  const r = await fetch(url + path, { headers });
  return { status: r.status, body: await r.json() };
}

async function post(path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: any }> {
  const r = await fetch(url + path, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

function disconnected(clientId: string, n = 1): Promise<ConnectionEvent[]> {
  return new Promise((resolve, reject) => {
    const seen: ConnectionEvent[] = [];
    const on = (m: unknown) => {
      const e = m as ConnectionEvent;
      if (e.type === "disconnected" && e.clientId === clientId) {
        seen.push(e);
        if (seen.length >= n) finish();
      }
    };
    const timer = setTimeout(() => {
      channels.connection.unsubscribe(on);
      reject(new Error(`${seen.length}/${n} disconnects of ${clientId}`));
    }, 5000);
    const finish = () => {
      clearTimeout(timer);
      channels.connection.unsubscribe(on);
      resolve(seen);
    };
    channels.connection.subscribe(on);
  });
}

async function client(id: string): Promise<WsClient> {
  const c = await WsClient.open(url, id);
  open.push(c);
  await c.initialize();
  return c;
}

before(async () => {
  ({ gateway, url } = await startGateway(
    validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }] }),
  ));
});

after(async () => {
  for (const c of open) c.ws.terminate();
  await gateway?.close();
});

test("admin endpoints need the Bearer admin token (401 admin_unauthorized)", async () => {
  for (const h of [{}, { authorization: "Bearer wrong" }, { authorization: "admin-token" }] as Array<Record<string, string>>) {
    const r = await get("/mcp/admin/status", h);
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "admin_unauthorized");
  }
  assert.equal((await post("/mcp/admin/reset", undefined, {})).status, 401);
  assert.equal((await get("/mcp/admin/status")).status, 200);
});

test("client info, trace and errors of a live WebSocket client", async () => {
  const c = await client("alice");
  const tools = (await c.request("tools/list")).result.tools as Array<{ name: string }>;
  await c.request("tools/call", { name: tools.find((t) => t.name.endsWith("echo"))!.name, arguments: { message: "hello" } });
  const bad = await c.request("tools/call", { name: "nope", arguments: {} });
  assert.equal(bad.error.data.error, "tool_not_found");

  const info = await get("/mcp/health/client/alice", {});
  assert.equal(info.status, 200);
  assert.equal(info.body.client_id, "alice");
  assert.equal(info.body.connections, 1);
  assert.equal(info.body.transport, "websocket");
  assert.ok(info.body.age_s >= 0 && typeof info.body.lag_ms === "number");
  assert.ok(["none", "lagging", "medium", "high"].includes(info.body.backpressure));
  assert.equal(info.body.errors.count, 1);
  assert.equal(info.body.errors.last.code, "tool_not_found");
  assert.equal((await get("/mcp/admin/clients/alice")).body.client_id, "alice");

  const unknown = await get("/mcp/health/client/nobody", {});
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, "client_not_found");

  const trace = (await get("/mcp/admin/clients/alice/trace")).body.events as Array<{ event: string; size?: number }>;
  const events = trace.map((e) => e.event);
  for (const e of ["connected", "message_received", "message_sent", "error"]) assert.ok(events.includes(e), `${e} in ${events}`);
  assert.ok(trace.filter((e) => e.event === "message_sent").every((e) => typeof e.size === "number" && e.size > 0));

  const errs = await get("/mcp/admin/clients/alice/errors?transport=websocket");
  assert.equal(errs.body.errors.length, 1);
  assert.equal((await get("/mcp/admin/clients/alice/errors?transport=http_sse")).body.errors.length, 0);

  const gone = disconnected("alice");
  await c.close();
  const [ev] = await gone;
  assert.equal(ev!.closeCode, 1000);
  const after = (await get("/mcp/admin/clients/alice/trace")).body.events as Array<{ event: string; close_code?: number }>;
  assert.equal(after.find((e) => e.event === "disconnected")?.close_code, 1000);
  // Known but gone: 200 with status disconnected, not 404.
  const known = await get("/mcp/health/client/alice", {});
  assert.equal(known.status, 200);
  assert.equal(known.body.status, "disconnected");
});

test("stats in the guide's shape", async () => {
  await client("bob");
  const s = (await get("/mcp/stats", {})).body;
  for (const k of ["total", "by_transport", "pool_available", "pool_overflow", "avg_connection_age", "error_rate", "messages_in", "messages_out"]) assert.ok(k in s, k);
  assert.ok(s.total >= 1);
  assert.ok(s.by_transport.websocket >= 1);
  assert.equal(typeof s.pool_available, "number");
  assert.ok(s.error_rate >= 0 && s.error_rate <= 1);
});

test("1006 analysis and rapid_reconnect / connection_hoarding patterns", async () => {
  const gone = disconnected("flappy", 5);
  for (let i = 0; i < 5; i++) (await WsClient.open(url, "flappy")).ws.terminate();
  const events = await gone;
  assert.ok(events.every((e) => e.closeCode === 1006));
  const a = (await get("/mcp/admin/analyze-1006?hours=1")).body;
  assert.ok(a.count >= 5);
  assert.ok(a.by_transport.websocket >= 5);
  assert.ok(a.top_clients.some((t: { client_id: string }) => t.client_id === "flappy"));
  assert.equal(a.by_close_code["1006"].meaning.startsWith("abnormal"), true);

  for (let i = 0; i < 11; i++) await client("hoarder");
  const c = (await get("/mcp/admin/connections")).body;
  assert.deepEqual(Object.keys(c.connection_distribution), ["0-1h", "1-6h", "6-24h", "24h+"]);
  assert.ok(c.connection_distribution["0-1h"] >= 12);
  const byPattern = Object.fromEntries(c.suspicious_patterns.map((p: { pattern: string; client_ids: string[] }) => [p.pattern, p.client_ids]));
  assert.ok(byPattern.rapid_reconnect.includes("flappy"));
  assert.deepEqual(byPattern.connection_hoarding, ["hoarder"]);
  const strict = (await get("/mcp/admin/connections?hoarding_sessions=20")).body;
  assert.ok(!strict.suspicious_patterns.some((p: { pattern: string }) => p.pattern === "connection_hoarding"));
});

test("old connections: find and gc (closed politely with 1001); idle cleanup", async () => {
  const old = await client("ancient");
  const session = gateway.registry.byClient("ancient")[0]!;
  (session as { createdAt: number }).createdAt = Date.now() - 25 * 3_600_000;
  const found = (await get("/mcp/admin/connections/old?hours=24")).body;
  assert.equal(found.count, 1);
  assert.equal(found.connections[0].client_id, "ancient");
  const closed = new Promise<number>((resolve) => old.ws.once("close", (code) => resolve(code)));
  const gc = (await post("/mcp/admin/gc", { hours: 24 })).body;
  assert.deepEqual([gc.closed, gc.client_ids], [1, ["ancient"]]);
  assert.equal(await closed, 1001);
  assert.equal(gateway.registry.byClient("ancient").length, 0);

  const idle = await client("sleepy");
  await idle.request("ping"); // the initialized notification has been handled too
  gateway.registry.byClient("sleepy")[0]!.lastActivity = Date.now() - 120_000;
  const idleClosed = new Promise<number>((resolve) => idle.ws.once("close", (code) => resolve(code)));
  const r = (await post("/mcp/admin/cleanup", { max_idle_seconds: 60 })).body;
  assert.equal(r.max_idle_seconds, 60);
  assert.ok(r.client_ids.includes("sleepy"));
  assert.ok(!r.client_ids.includes("bob"));
  assert.equal(await idleClosed, 1001);
  assert.equal((await post("/mcp/admin/cleanup", { max_idle_seconds: -1 })).status, 400);
});

test("runtime config: validated, applied live, 400 naming the key", async () => {
  assert.equal((await get("/mcp/admin/config?path=pool.size")).body.value, 100);
  const ok = await post("/mcp/admin/config", { path: "pool.size", value: 200 });
  assert.equal(ok.status, 200);
  assert.deepEqual([ok.body.previous, ok.body.value], [100, 200]);
  assert.equal(gateway.config.current.pool.size, 200);
  assert.equal((await post("/mcp/admin/config", { path: "routing.failover_threshold", value: "10" })).body.value, 10);
  assert.equal((await post("/mcp/admin/config", { path: "pool.idle_timeout", value: 30000 })).body.value, 30000);
  const bad = await post("/mcp/admin/config", { path: "pool.size", value: 0 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, "config_invalid");
  assert.match(bad.body.message, /pool\.size/);
  const frozen = await post("/mcp/admin/config", { path: "server.port", value: 1 });
  assert.equal(frozen.status, 400);
  assert.match(frozen.body.message, /server\.port: not changeable at runtime/);
  const all = (await get("/mcp/admin/config")).body.value;
  assert.notEqual(JSON.stringify(all).includes("admin-token"), true);
});

test("logging switches change at runtime", async () => {
  const r = await post("/mcp/admin/logging", { debug: true, log_messages: true, trace_routing: true });
  assert.deepEqual([r.body.debug, r.body.log_messages, r.body.trace_routing, r.body.log_connections], [true, true, true, true]);
  assert.equal(gateway.config.current.log_messages, true);
  assert.equal((await post("/mcp/admin/logging", { verbose: true })).status, 400);
  await post("/mcp/admin/logging", { debug: false, log_messages: false, trace_routing: false });
  assert.equal((await get("/mcp/admin/logging")).body.debug, false);
});

test("memory and queues", async () => {
  const m = (await get("/mcp/admin/memory")).body;
  for (const k of ["rss_mb", "heap_used_mb", "external_mb", "array_buffers_mb"]) assert.equal(typeof m.process[k], "number");
  // An embedded gateway (this test's) leaves V8's young generation alone: `mcp-gateway start` caps it.
  assert.equal(typeof m.heap.young_generation.size_mb, "number");
  assert.equal(m.heap.young_generation.cap_mb, null);
  assert.ok(m.connections.sessions >= 1);
  assert.ok(Array.isArray(m.top_by_memory) && m.top_by_memory.length >= 1);
  const q = (await get("/mcp/admin/queues")).body;
  assert.ok(q.top_by_queue_length.length >= 1);
  assert.ok("queue_length" in q.top_by_queue_length[0]);
  assert.ok(q.upstreams.some((u: { replica: string }) => u.replica === "everything#0"));
});

test("services: breakers, pool, hash, transports, rate limits", async () => {
  const b = (await get("/mcp/admin/breakers")).body.breakers as Array<{ target: string; kind: string; state: string }>;
  assert.ok(b.some((x) => x.kind === "transport" && x.target === "websocket" && x.state === "closed"));
  assert.deepEqual((await post("/mcp/admin/breakers/reset", { target: "websocket" })).body.reset, ["websocket"]);
  assert.ok((await get("/mcp/admin/pool")).body.upstreams[0].upstream === "everything");
  assert.ok((await get("/mcp/admin/hash")).body.distribution[0].vnodes > 0);
  const th = (await get("/mcp/admin/transports/websocket/health")).body;
  assert.deepEqual([th.transport, th.state, th.accepting], ["websocket", "closed", true]);
  assert.equal((await get("/mcp/admin/transports/carrier-pigeon/health")).status, 400);
  const health = (await get("/health/gateway", {})).body;
  assert.equal(health.transports.websocket.circuit, "closed");

  assert.equal((await post("/mcp/admin/rate-limit/set", { key: "user:carol", limit: 5, window: 60000 })).status, 200);
  const check = (await get("/mcp/admin/rate-limit/check?key=user:carol")).body;
  assert.deepEqual([check.allowed, check.limit], [true, 5]);
  assert.equal((await post("/mcp/admin/rate-limit/set", { key: "user:carol", limit: 0 })).status, 400);
  const stats = (await get("/mcp/admin/rate-limit/stats")).body;
  assert.equal(stats.overrides["user:carol"].limit, 5);
  assert.equal((await post("/mcp/admin/rate-limit/reset", { key: "user:carol" })).body.reset, true);
});

test("a missing service answers 501 not_implemented", async () => {
  const saved = gateway.resilience;
  gateway.resilience = undefined;
  try {
    const r = await get("/mcp/admin/breakers");
    assert.equal(r.status, 501);
    assert.equal(r.body.error, "not_implemented");
    assert.equal((await get("/mcp/stats", {})).body.pool_available, null);
  } finally {
    gateway.resilience = saved;
  }
});

test("reset closes every client connection", async () => {
  const c = await client("last");
  const closed = new Promise<number>((resolve) => c.ws.once("close", (code) => resolve(code)));
  const r = await post("/mcp/admin/reset");
  assert.equal(r.status, 200);
  assert.ok(r.body.closed >= 1);
  assert.equal(await closed, 1001);
  assert.equal(gateway.registry.size, 0);
  assert.equal((await get("/mcp/stats", {})).body.total, 0);
});

test("dashboard: the page and its SSE stream of snapshots", async () => {
  const page = await fetch(`${url}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>MCP Gateway<\/title>[\s\S]*\/dashboard\/stream/);
  const ac = new AbortController();
  const res = await fetch(`${url}/dashboard/stream`, { signal: ac.signal });
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  let text = "";
  for (let i = 0; i < 10 && !/event: stats\ndata: .*\n\n/.test(text); i++) text += new TextDecoder().decode((await reader.read()).value);
  ac.abort();
  const data = JSON.parse(/event: stats\ndata: (.*)\n/.exec(text)![1]!);
  assert.equal(typeof data.stats.total, "number");
  assert.ok(Array.isArray(data.breakers));
  assert.equal(data.upstreams[0].name, "everything");
  assert.doesNotMatch(text, /client_id/);
});
