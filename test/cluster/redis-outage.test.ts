// Redis stopped and restarted under traffic (a private redis-server on a free port; the shared one
// on 6379 is never touched): nodes keep serving from local state, say so in /health, reconnect,
// resync, and the cluster state converges (directory entries and event logs rewritten).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { freePort, initialize, numberedUpstream, postJson, REDIS_SKIP, SseReader, startNode, startRedis, testPrefix, until, type Node } from "./helpers.js";

const prefix = testPrefix("outage");
let port: number;
let redisUrl: string;
let server: Awaited<ReturnType<typeof startRedis>>;
const nodes: Node[] = [];
const readers: SseReader[] = [];

before(async () => {
  if (REDIS_SKIP) return;
  port = await freePort();
  redisUrl = `redis://127.0.0.1:${port}`;
  server = await startRedis(port);
  const config = { cluster: { redis_url: redisUrl, key_prefix: prefix }, rate_limiting: { default_limit: 100_000 }, upstreams: [numberedUpstream()] };
  nodes.push(...(await Promise.all([startNode("out-a", config), startNode("out-b", config)])));
});

after(async () => {
  if (REDIS_SKIP) return;
  for (const r of readers) r.close();
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  await server.stop();
});

const health = async (n: Node) => (await (await fetch(`${n.url}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };
const call = (n: Node, sid: string, id: number, text: string) =>
  postJson(`${n.url}/mcp`, { jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text } } }, { "x-client-id": "outage", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" });

async function session(n: Node): Promise<string> {
  const r = await postJson(`${n.url}/mcp`, initialize(0), { "x-client-id": "outage" });
  assert.equal(r.status, 200, r.text);
  return r.headers.get("mcp-session-id")!;
}

test("Redis down then back: no crash, service continues, state converges", { skip: REDIS_SKIP }, async () => {
  const [a, b] = nodes as [Node, Node];
  const before = await session(a);
  assert.equal((await call(b, before, 1, "cross")).body.result.content[0].text, "cross");
  // A legacy stream on A, to watch its event log converge.
  const sse = await new SseReader().open(`${a.url}/mcp/sse?client_id=outage`);
  readers.push(sse);
  await sse.waitFor((e) => e.some((x) => x.event === "endpoint"), 5000, "endpoint");
  const legacyId = new URL(sse.events.find((x) => x.event === "endpoint")!.data, a.url).searchParams.get("session_id")!;

  // Steady traffic on A's session across the whole outage (bounded): every call must be answered.
  let stopTraffic = false;
  const traffic = (async () => {
    let ok = 0;
    for (let i = 0; i < 5000 && !stopTraffic; i++) {
      const r = await call(a, before, 10_000 + i, `t${i}`);
      assert.equal(r.status, 200, r.text);
      ok++;
    }
    return ok;
  })();

  await server.stop();
  const degraded = await until(async () => {
    const h = await health(a);
    return h.status === "degraded" ? h : undefined;
  }, "A reports degraded", 10_000);
  assert.equal(degraded.checks.cluster!.status, "degraded");
  assert.match(degraded.checks.cluster!.detail, /Redis unreachable/);
  assert.match(await (await fetch(`${a.url}/metrics`)).text(), /gateway_cluster_redis_up\{node="out-a"\} 0/);

  // Traffic during the outage: served from local state, including a brand-new session.
  let served = 0;
  for (let i = 0; i < 20; i++) {
    const r = await call(a, before, 100 + i, `during-${i}`);
    assert.equal(r.status, 200, r.text);
    served++;
  }
  const during = await session(a);
  assert.equal((await call(a, during, 1, "new")).status, 200);
  assert.equal((await postJson(`${a.url}/mcp/messages?session_id=${legacyId}&client_id=outage`, initialize(7))).status, 202);
  await sse.waitFor((e) => e.some((x) => x.data.includes('"id":7')), 10_000, "legacy answer during the outage");
  assert.equal(served, 20);

  server = await startRedis(port);
  await until(async () => ((await health(a)).status === "ok" && (await health(b)).status === "ok" ? true : undefined), "both nodes healthy again", 15_000);
  assert.match(await (await fetch(`${a.url}/metrics`)).text(), /gateway_cluster_redis_up\{node="out-a"\} 1/);
  // Converged: the empty Redis learns every session A holds, with its event log.
  const r = new Redis(redisUrl);
  try {
    for (const sid of [before, during, legacyId]) {
      const owner = await until(async () => (await r.hget(`${prefix}:session:${sid}`, "node")) ?? undefined, `directory entry of ${sid}`, 10_000);
      assert.equal(owner, "out-a");
    }
    const logged = await until(async () => ((await r.xlen(`${prefix}:events:${legacyId}`)) >= 1 ? true : undefined), "legacy event log rewritten", 10_000);
    assert.ok(logged);
  } finally {
    r.disconnect();
  }
  // And B serves the session created while Redis was away.
  stopTraffic = true;
  assert.ok((await traffic) > 0);
  const cross = await call(b, during, 2, "after");
  assert.equal(cross.status, 200, cross.text);
  assert.equal(cross.body.result.content[0].text, "after");
  for (const n of nodes) assert.equal(n.child.exitCode, null, `${n.name} is still running`);
});

test("nodes started while Redis is down serve alone, then join up when it comes", { skip: REDIS_SKIP }, async () => {
  const port2 = await freePort();
  const url2 = `redis://127.0.0.1:${port2}`;
  const config = { cluster: { redis_url: url2, key_prefix: prefix }, rate_limiting: { default_limit: 100_000 }, upstreams: [numberedUpstream()] };
  const [c, d] = await Promise.all([startNode("late-c", config), startNode("late-d", config)]);
  nodes.push(c, d);
  const h = await health(c);
  assert.equal(h.status, "degraded");
  const sid = await session(c);
  assert.equal((await call(c, sid, 1, "alone")).status, 200);
  const late = await startRedis(port2);
  try {
    await until(async () => ((await health(c)).status === "ok" && (await health(d)).status === "ok" ? true : undefined), "both healthy", 15_000);
    // C subscribed to its channel once Redis came: D forwards to it.
    const cross = await until(async () => {
      const r = await call(d, sid, 2, "joined");
      return r.status === 200 ? r : undefined;
    }, "D serves C's session", 10_000, 200);
    assert.equal(cross.body.result.content[0].text, "joined");
  } finally {
    await Promise.all([c.stop("SIGKILL"), d.stop("SIGKILL")]);
    await late.stop();
  }
});
