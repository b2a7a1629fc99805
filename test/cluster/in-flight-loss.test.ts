/**
 * Issue 11 item 19: a call in flight on a node that is killed never got an
 * answer or an error, and a resumed Streamable HTTP stream of that call
 * stayed open with nothing. Two gateway processes on the real Redis (unique
 * key prefix); the owner is SIGKILLed with a call running; the node the
 * client resumes on answers the call with `cluster_node_lost`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { initialize, numberedUpstream, postJson, purge, SHARED_REDIS, SseReader, startNode, testPrefix, until, type Node } from "./helpers.js";

const prefix = testPrefix("inflight");
const readers: SseReader[] = [];
let nodes: Node[] = [];
let redis: Redis;

function config() {
  return { cluster: { redis_url: SHARED_REDIS, key_prefix: prefix }, rate_limiting: { enabled: false }, upstreams: [numberedUpstream()] };
}

/** Waits until the owner's heartbeat has written call `id` as in flight for `sessionId`. */
function inflightWritten(sessionId: string, id: number): Promise<true> {
  return until(async () => {
    const raw = await redis.hget(`${prefix}:session:${sessionId}`, "inflight");
    return raw !== null && (JSON.parse(raw) as unknown[]).includes(id) ? true : undefined;
  }, `call ${id} in the directory's in-flight list`, 10_000);
}

before(async () => {
  redis = new Redis(SHARED_REDIS);
  // Generous start-up bound: three processes (and their upstreams) starting at once on a loaded machine.
  nodes = await Promise.all(["inflight-a", "inflight-b", "inflight-c"].map((n) => startNode(n, config(), 150_000)));
});

after(async () => {
  for (const r of readers) r.close();
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  await purge(SHARED_REDIS, prefix);
  redis.disconnect();
});

describe("calls in flight on a killed node", () => {
  test("HTTP+SSE: the resuming node answers the lost call with cluster_node_lost", async () => {
    const [a, b] = nodes as [Node, Node];
    const client = "lost-sse";
    const sse = await new SseReader().open(`${a.url}/mcp/sse?client_id=${client}`);
    readers.push(sse);
    await sse.waitFor((e) => e.some((x) => x.event === "endpoint"), 5000, "endpoint");
    const sessionId = new URL(sse.events.find((x) => x.event === "endpoint")!.data, a.url).searchParams.get("session_id")!;
    const post = (body: unknown) => postJson(`${a.url}/mcp/messages?session_id=${sessionId}&client_id=${client}`, body);
    assert.equal((await post(initialize(1))).status, 202);
    await sse.waitFor((e) => e.some((x) => x.data.includes('"id":1')), 10_000, "initialize result");
    await post({ jsonrpc: "2.0", method: "notifications/initialized" });
    assert.equal((await post({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "slow", arguments: { ms: 60_000 } } })).status, 202);
    await inflightWritten(sessionId, 7);
    const lastSeen = sse.messages().at(-1)!.seq;
    sse.close();
    await a.stop("SIGKILL");

    const resumed = await new SseReader().open(`${b.url}/mcp/sse?client_id=${client}&session_id=${sessionId}`, { "last-event-id": String(lastSeen) });
    readers.push(resumed);
    assert.equal(resumed.status, 200);
    await resumed.waitFor((e) => e.some((x) => x.data.includes('"id":7')), 10_000, "an answer to the lost call");
    const answer = resumed.messages().find((m) => m.msg.id === 7)!.msg;
    assert.equal(answer.error.data.error, "cluster_node_lost");
    assert.equal(answer.error.data.node, "inflight-a");
  });

  test("Streamable HTTP: the resumed stream of the lost call gets the error and ends", async () => {
    const [, b, c] = nodes as [Node, Node, Node];
    const init = await postJson(`${b.url}/mcp`, initialize(1), { "x-client-id": "lost-http" });
    const sessionId = init.headers.get("mcp-session-id")!;
    const headers = { "mcp-session-id": sessionId, "x-client-id": "lost-http", "mcp-protocol-version": "2025-06-18" };
    await postJson(`${b.url}/mcp`, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
    // Progress first, so the POST becomes a stream with event ids; it would run for many seconds.
    const call = await new SseReader().open(`${b.url}/mcp`, headers, { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 1000, chunk: 1, pause_ms: 50 }, _meta: { progressToken: "p9" } } });
    readers.push(call);
    await call.waitFor((e) => e.filter((x) => x.data.includes("notifications/progress")).length >= 3, 10_000, "3 progress events");
    await inflightWritten(sessionId, 9);
    const lastSeen = Number(call.events.filter((x) => x.id).at(-1)!.id);
    await until(async () => (await redis.xlen(`${prefix}:events:${sessionId}`)) >= lastSeen, "the seen events logged", 10_000);
    call.close();
    await b.stop("SIGKILL");

    const resumed = await new SseReader().open(`${c.url}/mcp`, { ...headers, "last-event-id": String(lastSeen) });
    readers.push(resumed);
    assert.equal(resumed.status, 200);
    await resumed.waitFor((e) => e.some((x) => x.data.includes('"id":9')), 10_000, "an answer to the lost call on its stream");
    const answer = JSON.parse(resumed.events.find((x) => x.data.includes('"id":9'))!.data);
    assert.equal(answer.error.data.error, "cluster_node_lost");
    // Its stream is complete: the server ends it instead of holding it open with nothing.
    await until(async () => resumed.ended || undefined, "the resumed stream to end", 10_000);
  });
});
