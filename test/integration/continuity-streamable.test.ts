// Continuity over Streamable HTTP: two tool calls stream numbered progress on their own
// POST SSE streams; each stream is cut (socket destroyed) at random points and resumed
// with GET + Last-Event-ID. Each stream must get exactly its own messages, once, in
// order, and end after its answer; the other stream's messages never show up on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import type http from "node:http";
import { Inbox, parseSse, prng, readAll, request, CONTINUITY_SEED, useStreamGateway, type SseEvent } from "../helpers/continuity.js";

const COUNT = 120;
const env = useStreamGateway();

const BASE_HEADERS = { accept: "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-06-18" };

function events(res: http.IncomingMessage): Inbox<SseEvent> {
  const inbox = new Inbox<SseEvent>();
  parseSse(res, (e) => inbox.push(e));
  res.on("close", () => inbox.close(new Error("stream ended")));
  return inbox;
}

interface StreamLog {
  progress: number[];
  answers: number;
  foreign: unknown[];
  ids: number[];
  cuts: number;
  endedAfterAnswer: boolean;
}

/** Follows one request's stream to its answer, cutting and resuming it at random points. */
async function follow(sessionId: string, first: { res: http.IncomingMessage; req: http.ClientRequest }, callId: number, token: string, rng: () => number): Promise<StreamLog> {
  const log: StreamLog = { progress: [], answers: 0, foreign: [], ids: [], cuts: 0, endedAfterAnswer: false };
  let { res, req } = first;
  assert.match(String(res.headers["content-type"]), /text\/event-stream/);
  let inbox = events(res);
  let lastId: number | undefined;
  for (let round = 0; round < 200; round++) {
    const cutAfter = 1 + Math.floor(rng() * 20);
    for (let n = 0; n < cutAfter && log.answers === 0; n++) {
      const e = await inbox.next();
      if (e.id !== undefined) {
        lastId = Number(e.id);
        log.ids.push(lastId);
      }
      if (e.event === "gap") log.foreign.push({ gap: e.data });
      if (!e.data) continue;
      const m = JSON.parse(e.data);
      if (m.method === "notifications/progress" && m.params.progressToken === token) log.progress.push(m.params.progress);
      else if (m.id === callId) log.answers++;
      else log.foreign.push(m);
    }
    if (log.answers > 0) break;
    req.destroy();
    res.destroy();
    log.cuts++;
    assert.ok(lastId !== undefined, "the first event (priming) carries an id");
    ({ res, req } = await request(`${env.url}/mcp`, "GET", { ...BASE_HEADERS, "mcp-session-id": sessionId, "last-event-id": String(lastId) }));
    assert.equal(res.statusCode, 200);
    inbox = events(res);
  }
  // The stream ends after its answer: the next take fails with "stream ended", not a timeout.
  await inbox.next(5000).then(
    () => {},
    (err: Error) => (log.endedAfterAnswer = err.message === "stream ended"),
  );
  return log;
}

test("Streamable HTTP: cut POST streams resume with Last-Event-ID, only their own messages, exactly once", async () => {
  const init = await request(`${env.url}/mcp`, "POST", BASE_HEADERS, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } } }));
  const sessionId = String(init.res.headers["mcp-session-id"]);
  assert.equal(JSON.parse(await readAll(init.res)).id, 1);
  const headers = { ...BASE_HEADERS, "mcp-session-id": sessionId };
  const note = await request(`${env.url}/mcp`, "POST", headers, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  assert.equal(note.res.statusCode, 202);
  note.res.resume();

  const call = (id: number, token: string) =>
    request(`${env.url}/mcp`, "POST", headers, JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "stream_numbers", arguments: { count: COUNT, interval_ms: 1 }, _meta: { progressToken: token } } }));
  const [a, b] = await Promise.all([call(2, "a"), call(3, "b")]);
  const [logA, logB] = await Promise.all([follow(sessionId, a, 2, "a", prng(CONTINUITY_SEED)), follow(sessionId, b, 3, "b", prng(CONTINUITY_SEED + 7))]);
  const all = Array.from({ length: COUNT }, (_, i) => i + 1);
  for (const [name, log] of [
    ["a", logA],
    ["b", logB],
  ] as const) {
    assert.deepEqual(log.foreign, [], `stream ${name}: nothing from another stream, no gap`);
    assert.deepEqual(log.progress, all, `stream ${name}: every progress once, in order (cuts=${log.cuts})`);
    assert.equal(log.answers, 1, `stream ${name}: one answer`);
    assert.ok(log.endedAfterAnswer, `stream ${name}: ended after its answer`);
    assert.ok(log.cuts >= 3, `stream ${name}: was cut`);
    // Event ids on a stream increase (unique across the session's streams).
    for (let i = 1; i < log.ids.length; i++) assert.ok(log.ids[i]! > log.ids[i - 1]!, `stream ${name}: ids increase`);
  }
  const idsA = new Set(logA.ids);
  assert.ok(!logB.ids.some((id) => idsA.has(id)), "no event id appears on both streams");
});

test("Streamable HTTP: SSE responses carry retry: and X-Accel-Buffering: no", async () => {
  const init = await request(`${env.url}/mcp`, "POST", BASE_HEADERS, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "c", version: "1" } } }));
  const sessionId = String(init.res.headers["mcp-session-id"]);
  init.res.resume();
  const get = await request(`${env.url}/mcp`, "GET", { ...BASE_HEADERS, "mcp-session-id": sessionId });
  assert.equal(get.res.headers["x-accel-buffering"], "no");
  const first = await new Promise<string>((resolve) => get.res.once("data", (c: Buffer) => resolve(c.toString())));
  assert.match(first, /^retry: \d+/);
  get.req.destroy();
});
