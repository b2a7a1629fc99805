// Three gateway processes sharing the real Redis on 127.0.0.1:6379 (unique key prefix per run):
// cross-node delivery on HTTP+SSE and Streamable HTTP, a rate limit shared exactly, the cluster view,
// and a node SIGKILLed mid-stream whose client resumes on another node receiving every message once.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { WebSocket } from "ws";
import { initialize, numberedUpstream, postJson, purge, REDIS_SKIP, SHARED_REDIS, SseReader, startNode, testPrefix, until, type Node } from "./helpers.js";

const prefix = testPrefix("three");
const nodes: Node[] = [];
const readers: SseReader[] = [];
let redis: Redis;

function config() {
  return {
    cluster: { redis_url: SHARED_REDIS, key_prefix: prefix },
    rate_limiting: { enabled: true, default_limit: 10, window: 60_000 },
    upstreams: [numberedUpstream()],
  };
}

/** Opens a legacy HTTP+SSE stream on `node` as `client`; resolves with the reader and the session id. */
async function openLegacy(node: Node, client: string, headers: Record<string, string> = {}, query = ""): Promise<{ sse: SseReader; sessionId: string }> {
  const sse = await new SseReader().open(`${node.url}/mcp/sse?client_id=${client}${query}`, headers);
  readers.push(sse);
  assert.equal(sse.status, 200);
  await sse.waitFor((e) => e.some((x) => x.event === "endpoint"), 5000, "endpoint event");
  const endpoint = sse.events.find((x) => x.event === "endpoint")!.data;
  return { sse, sessionId: new URL(endpoint, node.url).searchParams.get("session_id")! };
}

before(async () => {
  if (REDIS_SKIP) return;
  redis = new Redis(SHARED_REDIS);
  const started = await Promise.all(["node-a", "node-b", "node-c"].map((n) => startNode(n, config())));
  nodes.push(...started);
});

after(async () => {
  for (const r of readers) r.close();
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  if (REDIS_SKIP) return;
  await purge(SHARED_REDIS, prefix);
  redis.disconnect();
});

describe("three gateway nodes on one Redis", { skip: REDIS_SKIP }, () => {
  test("a client's POST on node B reaches its HTTP+SSE stream on node A (B answers 202)", async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const { sse, sessionId } = await openLegacy(a, "legacy-client");
    const post = (node: Node, body: unknown) => postJson(`${node.url}/mcp/messages?session_id=${sessionId}&client_id=legacy-client`, body);
    const init = await post(b, initialize(1));
    assert.equal(init.status, 202, init.text);
    await sse.waitFor((e) => e.some((x) => x.data.includes('"id":1') && x.data.includes("serverInfo")), 10_000, "initialize result on A's stream");
    assert.equal((await post(c, { jsonrpc: "2.0", method: "notifications/initialized" })).status, 202);
    const call = await post(b, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "via B" } } });
    assert.equal(call.status, 202);
    await sse.waitFor((e) => e.some((x) => x.data.includes('"id":2')), 10_000, "tools/call answer on A's stream");
    const answer = sse.messages().find((m) => m.msg.id === 2)!;
    assert.equal(answer.msg.result.content[0].text, "via B");
    // Ids stay one sequence on A's stream: 1, 2 (no gaps, no duplicates).
    assert.deepEqual(sse.messages().map((m) => m.seq), [1, 2]);
    // B and C forwarded; A served them; nobody took the session over.
    const view = async (n: Node) => ((await (await fetch(`${n.url}/mcp/stats`)).json()) as { cluster: { forwarded: number; served_for_peers: number; takeovers: number } }).cluster;
    assert.ok((await view(b)).forwarded >= 2);
    assert.ok((await view(a)).served_for_peers >= 3);
    assert.equal((await view(b)).takeovers, 0);

    // The stream drops and the load balancer sends the reconnect to C: C carries A's stream.
    sse.close();
    const again = await openLegacy(c, "legacy-client", { "last-event-id": "1" }, `&session_id=${sessionId}`);
    assert.equal(again.sessionId, sessionId);
    await again.sse.waitFor((e) => e.some((x) => x.data.includes('"id":2')), 10_000, "replay of 2 through C");
    assert.equal((await post(b, { jsonrpc: "2.0", id: 3, method: "ping" })).status, 202);
    await again.sse.waitFor((e) => e.some((x) => x.data.includes('"id":3')), 10_000, "answer to B's POST on the stream carried by C");
    assert.deepEqual(again.sse.messages().map((m) => m.seq), [2, 3]);
    assert.equal(await redis.hget(`${prefix}:session:${sessionId}`, "node"), "node-a", "still A's session");
  });

  test("Streamable HTTP: a session initialized on A is served by B and C (no stickiness, no 404)", async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const headers = { "x-client-id": "streamable-client", "mcp-protocol-version": "2025-06-18" };
    const init = await postJson(`${a.url}/mcp`, initialize(1), { "x-client-id": "streamable-client" });
    assert.equal(init.status, 200, init.text);
    const sid = init.headers.get("mcp-session-id")!;
    assert.ok(sid);
    const h = { ...headers, "mcp-session-id": sid };
    assert.equal((await postJson(`${b.url}/mcp`, { jsonrpc: "2.0", method: "notifications/initialized" }, h)).status, 202);
    for (const [i, node] of [b, c, a, b, c].entries()) {
      const r = await postJson(`${node.url}/mcp`, { jsonrpc: "2.0", id: 10 + i, method: "tools/call", params: { name: "echo", arguments: { text: `n${i}` } } }, h);
      assert.equal(r.status, 200, `${node.name}: ${r.text}`);
      assert.equal(r.body.result.content[0].text, `n${i}`);
    }
    // The session stayed on A: B and C forwarded to it.
    const entry = await redis.hgetall(`${prefix}:session:${sid}`);
    assert.equal(entry.node, "node-a");
    // A GET stream opened on C is carried from A.
    const get = await new SseReader().open(`${c.url}/mcp`, h);
    readers.push(get);
    assert.equal(get.status, 200);
    assert.equal(get.headers["content-type"], "text/event-stream");
    get.close();
    // DELETE through B ends it everywhere.
    const del = await fetch(`${b.url}/mcp`, { method: "DELETE", headers: h });
    assert.equal(del.status, 200);
    const gone = await postJson(`${c.url}/mcp`, { jsonrpc: "2.0", id: 99, method: "ping" }, h);
    assert.equal(gone.status, 404);
  });

  test("a rate limit of 10 over three nodes admits exactly 10", async () => {
    const client = "limited-client";
    const sessions: Array<{ node: Node; sid: string }> = [];
    let admitted = 0;
    let limited = 0;
    for (const node of nodes) {
      const r = await postJson(`${node.url}/mcp`, initialize(0), { "x-client-id": client });
      if (r.status === 200) admitted++;
      sessions.push({ node, sid: r.headers.get("mcp-session-id")! });
    }
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => {
        const s = sessions[i % 3]!;
        return postJson(`${s.node.url}/mcp`, { jsonrpc: "2.0", id: i + 1, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }, { "x-client-id": client, "mcp-session-id": s.sid, "mcp-protocol-version": "2025-06-18" });
      }),
    );
    for (const r of results) {
      if (r.status === 200 && r.body.result) admitted++;
      else if (r.status === 429 && r.body.error?.data?.error === "rate_limit_exceeded") limited++;
      else assert.fail(`unexpected answer ${r.status} ${r.text}`);
    }
    assert.equal(admitted, 10, "exactly the limit is admitted, cluster-wide");
    assert.equal(limited, 33 - 10);
  });

  test("/mcp/stats and /health/gateway show every node", async () => {
    const stats = await until(async () => {
      const s = (await (await fetch(`${nodes[1]!.url}/mcp/stats`)).json()) as { cluster: { node_count: number; nodes: Array<{ id: string }> } };
      return s.cluster?.node_count === 3 ? s : undefined;
    }, "three nodes in the view", 5000);
    assert.deepEqual(stats.cluster.nodes.map((n) => n.id), ["node-a", "node-b", "node-c"]);
    const h = (await (await fetch(`${nodes[2]!.url}/health/gateway`)).json()) as { cluster: { node_id: string; redis: string }; checks: Record<string, { status: string }> };
    assert.equal(h.cluster.node_id, "node-c");
    assert.equal(h.cluster.redis, "connected");
    assert.equal(h.checks.cluster!.status, "ok");
  });

  test("a WebSocket session moves to another node while its owner lives (owner lets go, replay, unique ids)", async () => {
    const [a, , c] = nodes as [Node, Node, Node];
    const frames: any[] = [];
    let wake = () => {};
    const waitFrame = async (pred: (f: any) => boolean, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!frames.some(pred)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(frames.slice(-3))}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return frames.find(pred);
    };
    const connect = (url: string) => {
      const ws = new WebSocket(url, ["mcp-gateway.v1"]);
      ws.on("message", (d) => {
        frames.push(JSON.parse(String(d)));
        wake();
      });
      return ws;
    };
    const first = connect(`${c.url.replace("http", "ws")}/mcp/ws?client_id=ws-client`);
    const closed = new Promise<number>((r) => first.once("close", (code) => r(code)));
    const welcome = await waitFrame((f) => f.type === "welcome", "welcome");
    first.send(JSON.stringify(initialize(1)));
    first.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    first.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "on C" } } }));
    const answer = await waitFrame((f) => f.type === "message" && f.message.id === 2, "answer on C");
    // The client read only the initialize answer (seq 1) and reconnects to A.
    frames.length = 0;
    const second = connect(`${a.url.replace("http", "ws")}/mcp/ws?client_id=ws-client&session_id=${welcome.session_id}&last_seq=1`);
    const resumed = await waitFrame((f) => f.type === "welcome", "welcome on A");
    assert.equal(resumed.session_id, welcome.session_id);
    assert.equal(resumed.resumed, true);
    assert.equal(await closed, 1000, "the old owner closed its side");
    const replay = await waitFrame((f) => f.type === "message" && f.message.id === 2, "replayed answer");
    assert.equal(replay.seq, answer.seq);
    second.send(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "on A" } } }));
    const next = await waitFrame((f) => f.type === "message" && f.message.id === 3, "answer on A");
    assert.ok(next.seq > answer.seq);
    assert.equal(await redis.hget(`${prefix}:session:${welcome.session_id}`, "node"), "node-a");
    second.close();
  });

  test("an admin config change on one node applies on every node", async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const admin = { authorization: "Bearer admin-token" };
    const set = await postJson(`${a.url}/mcp/admin/config`, { path: "backpressure.lag_threshold", value: 4321 }, admin);
    assert.equal(set.status, 200, set.text);
    for (const n of [b, c]) {
      await until(async () => {
        const r = (await (await fetch(`${n.url}/mcp/admin/config?path=backpressure.lag_threshold`, { headers: admin })).json()) as { value?: unknown };
        return JSON.stringify(r).includes("4321") ? true : undefined;
      }, `config on ${n.name}`, 5000);
    }
  });

  test("the owning node SIGKILLed mid-stream: the client resumes on another node and receives every message once", async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const client = "resume-client";
    const { sse, sessionId } = await openLegacy(a, client);
    const post = (node: Node, body: unknown) => postJson(`${node.url}/mcp/messages?session_id=${sessionId}&client_id=${client}`, body);
    assert.equal((await post(a, initialize(1))).status, 202);
    await sse.waitFor((e) => e.some((x) => x.data.includes('"id":1')), 10_000, "initialize result");
    assert.equal((await post(a, { jsonrpc: "2.0", method: "notifications/initialized" })).status, 202);
    // 200 numbered progress notifications, 10 ms apart: the node dies long before the last.
    assert.equal((await post(a, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 200, chunk: 1, pause_ms: 10 }, _meta: { progressToken: "p" } } })).status, 202);
    await sse.waitFor((e) => e.filter((x) => x.data.includes("notifications/progress")).length >= 10, 10_000, "10 progress notifications");
    // The client drops its connection; A keeps recording (and logging to Redis) for its resume.
    sse.close();
    const seen = sse.messages();
    const lastSeen = seen[seen.length - 1]!.seq;
    await until(async () => (await redis.xlen(`${prefix}:events:${sessionId}`)) >= lastSeen + 20, "20 more logged messages", 10_000);
    await a.stop("SIGKILL");
    const logged = (await redis.xrange(`${prefix}:events:${sessionId}`, "-", "+")).map(([id]) => Number(id.split("-")[0]));
    const lastLogged = logged[logged.length - 1]!;

    // The client reconnects to B from its last event id.
    const resumed = await openLegacy(b, client, { "last-event-id": String(lastSeen) }, `&session_id=${sessionId}`);
    assert.equal(resumed.sessionId, sessionId);
    await resumed.sse.waitFor((e) => e.some((x) => Number(x.id) === lastLogged), 10_000, `replay up to ${lastLogged}`);
    // The call still running on A when it died is answered by B (issue 11 item 19), right after the replay.
    await resumed.sse.waitFor((e) => e.some((x) => x.data.includes('"id":2') && x.data.includes("cluster_node_lost")), 10_000, "cluster_node_lost for call 2");
    const lost = resumed.sse.messages().find((m) => m.msg.id === 2)!;
    assert.equal(lost.msg.error.data.error, "cluster_node_lost");
    assert.ok(lost.seq > lastLogged, "numbered after the replay");
    const replayed = resumed.sse.messages().filter((m) => m.seq !== lost.seq);
    const all = [...seen, ...replayed].map((m) => m.seq);
    assert.equal(new Set(all).size, all.length, "no message twice");
    assert.deepEqual(all, Array.from({ length: lastLogged }, (_, i) => i + 1), "every message, in order, none missing");
    const progress = [...seen, ...replayed].filter((m) => m.msg.method === "notifications/progress").map((m) => m.msg.params.progress);
    assert.deepEqual(progress, Array.from({ length: progress.length }, (_, i) => i + 1), "progress 1..n with no hole");
    assert.ok(!resumed.sse.events.some((e) => e.event === "gap"), "no gap reported");

    // The session lives on B now: a call through C comes back on B's stream, numbered after the replay.
    assert.equal((await post(c, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "after" } } })).status, 202);
    await resumed.sse.waitFor((e) => e.some((x) => x.data.includes('"id":3')), 10_000, "answer after takeover");
    const after3 = resumed.sse.messages().find((m) => m.msg.id === 3)!;
    assert.ok(after3.seq > lost.seq, "event ids stay unique after the takeover");
    assert.equal(await redis.hget(`${prefix}:session:${sessionId}`, "node"), "node-b");
    const stats = (await (await fetch(`${b.url}/mcp/stats`)).json()) as { cluster: { takeovers: number } };
    assert.ok(stats.cluster.takeovers >= 1);
  });
});
