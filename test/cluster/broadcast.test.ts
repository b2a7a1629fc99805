// Admin actions and breaker news travel between nodes: a gateway node (child process, shared Redis,
// unique prefix) in front of a network upstream (the conformance fixture over Streamable HTTP, in
// this process). The test plays the other node on the broadcast channel.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { startConformanceServer, type ConformanceServerHandle } from "../fixtures/conformance-server.js";
import { postJson, purge, REDIS_SKIP, SHARED_REDIS, startNode, testPrefix, until, type Node } from "./helpers.js";

const prefix = testPrefix("breakers");
const admin = { authorization: "Bearer admin-token" };
let upstream: ConformanceServerHandle;
let node: Node;
let sub: Redis;
let pub: Redis;
const heard: any[] = [];

before(async () => {
  if (REDIS_SKIP) return;
  upstream = await startConformanceServer(0);
  node = await startNode("brk-a", {
    cluster: { redis_url: SHARED_REDIS, key_prefix: prefix },
    circuit_breaker: { reset_timeout: 60_000, failure_threshold: 1 },
    routing: { health_check_interval: 300 },
    upstreams: [{ name: "net", transport: "streamable_http", url: upstream.url }],
  });
  sub = new Redis(SHARED_REDIS);
  pub = new Redis(SHARED_REDIS);
  sub.on("message", (_ch, m) => heard.push(JSON.parse(m)));
  await sub.subscribe(`${prefix}:all`);
});

after(async () => {
  await node?.stop("SIGKILL");
  await upstream?.close().catch(() => {});
  sub?.disconnect();
  pub?.disconnect();
  if (!REDIS_SKIP) await purge(SHARED_REDIS, prefix);
});

const breaker = async (target: string) => {
  const r = (await (await fetch(`${node.url}/mcp/admin/breakers`, { headers: admin })).json()) as { breakers: Array<{ target: string; state: string }> };
  return r.breakers.find((b) => b.target === target);
};

test("a peer's breaker opening opens ours for the same network replica; an admin reset is broadcast", { skip: REDIS_SKIP }, async () => {
  assert.equal((await breaker("net#0"))?.state, "closed");
  // Another node reports net#0 open.
  await pub.publish(`${prefix}:all`, JSON.stringify({ t: "breaker", f: "peer-x", target: "net#0", kind: "upstream", reason: "upstream_unavailable" }));
  await until(async () => ((await breaker("net#0"))?.state === "open" ? true : undefined), "net#0 open after the peer's news", 15_000);
  const stats = (await (await fetch(`${node.url}/mcp/stats`)).json()) as { cluster: { peer_breaker_openings: Array<{ node: string; target: string; applied: boolean }> } };
  assert.deepEqual(stats.cluster.peer_breaker_openings[0] && { ...stats.cluster.peer_breaker_openings[0], at: undefined }, { node: "peer-x", target: "net#0", applied: true, at: undefined });
  // A breaker opened because of a peer is not announced again.
  assert.ok(!heard.some((m) => m.t === "breaker" && m.f === "brk-a"));

  // The operator resets it on this node: every other node is told to do the same.
  const reset = await postJson(`${node.url}/mcp/admin/breakers/reset`, { target: "net" }, admin);
  assert.equal(reset.status, 200, reset.text);
  assert.equal((await breaker("net#0"))?.state, "closed");
  await until(async () => (heard.some((m) => m.t === "cmd" && m.f === "brk-a" && m.cmd.name === "breaker_reset" && m.cmd.target === "net") ? true : undefined), "breaker_reset broadcast", 15_000);

  // Another node resets all breakers: this one follows.
  await pub.publish(`${prefix}:all`, JSON.stringify({ t: "breaker", f: "peer-x", target: "net#0", kind: "upstream" }));
  await until(async () => ((await breaker("net#0"))?.state === "open" ? true : undefined), "open again", 15_000);
  await pub.publish(`${prefix}:all`, JSON.stringify({ t: "cmd", f: "peer-x", cmd: { name: "breaker_reset", target: "all" } }));
  await until(async () => ((await breaker("net#0"))?.state === "closed" ? true : undefined), "closed by the peer's reset", 15_000);
});

test("a breaker this node opens itself is announced to the others", { skip: REDIS_SKIP }, async () => {
  // The upstream goes away: the replica's breaker opens here, and the news goes out.
  await upstream.close();
  // A call fails on it (and the health checker's pings fail): one failure opens the breaker.
  const init = await postJson(`${node.url}/mcp`, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }, { "x-client-id": "brk" });
  const sid = init.headers.get("mcp-session-id");
  if (sid) await postJson(`${node.url}/mcp`, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "test_simple_text", arguments: {} } }, { "x-client-id": "brk", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" });
  const news = await until(async () => heard.find((m) => m.t === "breaker" && m.f === "brk-a" && m.target === "net#0"), "breaker news from brk-a", 20_000);
  assert.equal(news.kind, "upstream");
});

test("idle cleanup is cluster-wide: ours is broadcast, a peer's closes our idle sessions", { skip: REDIS_SKIP }, async () => {
  const cleaned = await postJson(`${node.url}/mcp/admin/cleanup`, { max_idle_seconds: 3600 }, admin);
  assert.equal(cleaned.status, 200, cleaned.text);
  await until(async () => (heard.some((m) => m.t === "cmd" && m.f === "brk-a" && m.cmd.name === "cleanup" && m.cmd.max_idle_seconds === 3600) ? true : undefined), "cleanup broadcast", 15_000);
  // An idle session here; a peer asks every node to clean up sessions idle for more than 0 s.
  const init = await postJson(`${node.url}/mcp`, { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }, { "x-client-id": "idle" });
  const sid = init.headers.get("mcp-session-id")!;
  assert.ok(sid);
  // Checked without touching the session (that would make it active): an ended session leaves the directory.
  await until(async () => ((await pub.exists(`${prefix}:session:${sid}`)) === 1 ? true : undefined), "the session in the directory", 15_000);
  await until(async () => {
    // "Idle for more than 0 s" needs a clock tick since the session's last activity: sent again until it is.
    await pub.publish(`${prefix}:all`, JSON.stringify({ t: "cmd", f: "peer-x", cmd: { name: "cleanup", max_idle_seconds: 0 } }));
    return (await pub.exists(`${prefix}:session:${sid}`)) === 0 ? true : undefined;
  }, "the idle session closed by the peer's cleanup", 15_000);
  const r = await postJson(`${node.url}/mcp`, { jsonrpc: "2.0", id: 1, method: "ping" }, { "x-client-id": "idle", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" });
  assert.equal(r.status, 404);
});
