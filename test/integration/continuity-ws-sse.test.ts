// Continuity over WebSocket (envelope) and HTTP+SSE: the fixture streams numbered
// progress notifications, the client's socket is destroyed at random points and the
// session resumed from the last seq seen, on one transport or switching between them.
// Every message must arrive exactly once, in order, with consecutive seq numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { openEnvelope, openLegacySse, prng, runWithCuts, CONTINUITY_SEED, useStreamGateway, type RunLog } from "../helpers/continuity.js";

const COUNT = 150;
const env = useStreamGateway();

function assertExactlyOnce(log: RunLog, label: string): void {
  const ctx = `${label}: cuts=${log.cuts} transports=${log.transports.join(">")}`;
  assert.deepEqual(log.progress, Array.from({ length: COUNT }, (_, i) => i + 1), `${ctx}: every progress once, in order`);
  assert.equal(log.answers.length, 1, `${ctx}: one answer`);
  assert.equal(log.answers[0]!.result.content[0].text, String(COUNT));
  assert.deepEqual(log.seqs, Array.from({ length: log.seqs.length }, (_, i) => i + 1), `${ctx}: consecutive seq from 1`);
  assert.deepEqual(log.gaps, [], `${ctx}: no gap`);
  assert.ok(log.cuts >= 3, `${ctx}: the run was actually cut`);
}

test("WebSocket envelope: random hard cuts, resume with last_seq, every message exactly once", async (t) => {
  const rng = prng(CONTINUITY_SEED);
  const ws = (r?: Parameters<typeof openEnvelope>[2]) => openEnvelope(env.url, "ws-cutter", r);
  const log = await runWithCuts([["ws", ws]], rng, COUNT);
  assertExactlyOnce(log, "websocket");
  t.diagnostic(`${log.cuts} cuts, ${log.seqs.length} messages, each exactly once`);
});

test("HTTP+SSE: random hard cuts, resume with Last-Event-ID, every message exactly once", async (t) => {
  const rng = prng(CONTINUITY_SEED + 1);
  const sse = (r?: Parameters<typeof openLegacySse>[2]) => openLegacySse(env.url, "sse-cutter", r);
  const log = await runWithCuts([["sse", sse]], rng, COUNT);
  assertExactlyOnce(log, "http_sse");
  t.diagnostic(`${log.cuts} cuts, ${log.seqs.length} messages, each exactly once`);
});

test("transport switch WebSocket -> SSE -> WebSocket ...: exactly once, switches recorded", async (t) => {
  const switches: Array<Record<string, unknown>> = [];
  const onClient = (e: unknown) => {
    const ev = e as Record<string, unknown>;
    if (ev.type === "transport_switch" && ev.clientId === "switcher") switches.push(ev);
  };
  diagnostics_channel.subscribe("mcp-gateway:client", onClient);
  try {
    const rng = prng(CONTINUITY_SEED + 2);
    const ws = (r?: Parameters<typeof openEnvelope>[2]) => openEnvelope(env.url, "switcher", r);
    const sse = (r?: Parameters<typeof openLegacySse>[2]) => openLegacySse(env.url, "switcher", r);
    const log = await runWithCuts(
      [
        ["websocket", ws],
        ["http_sse", sse],
      ],
      rng,
      COUNT,
    );
    assertExactlyOnce(log, "switch");
    t.diagnostic(`${log.cuts} switches (${log.transports.join(">")}), ${log.seqs.length} messages, each exactly once`);
    assert.deepEqual(log.transports.slice(0, 3), ["websocket", "http_sse", "websocket"]);
    // One switch per reconnect, each from the previous transport to the next.
    assert.equal(switches.length, log.cuts);
    assert.deepEqual(
      switches.map((s) => `${s.from}>${s.to}`),
      log.transports.slice(1).map((to, i) => `${log.transports[i]}>${to}`),
    );
  } finally {
    diagnostics_channel.unsubscribe("mcp-gateway:client", onClient);
  }
});

test("resume of another client's session is refused (1008 session_not_found)", async () => {
  const a = await openEnvelope(env.url, "owner-a");
  try {
    await assert.rejects(openEnvelope(env.url, "intruder-b", { sessionId: a.sessionId, lastSeq: 0 }), (err: Error & { frame?: Record<string, unknown> }) => {
      assert.equal(err.frame?.error, "session_not_found");
      return true;
    });
  } finally {
    a.cut();
  }
});

test("envelope {type:'end'} ends the session and closes 1000; acks trim the replay buffer", async () => {
  const c = await openEnvelope(env.url, "ender");
  await c.send({ jsonrpc: "2.0", id: 1, method: "ping" });
  const pong = await c.inbox.next();
  assert.ok("seq" in pong && pong.seq === 1 && pong.message.id === 1);
  const session = env.gateway.registry.get(c.sessionId)!;
  assert.equal(session.replay.size, 1);
  c.ws.send(JSON.stringify({ type: "ack", seq: 1 }));
  const closed = new Promise<number>((r) => c.ws.once("close", (code) => r(code)));
  c.ws.send(JSON.stringify({ type: "end" }));
  assert.equal(await closed, 1000);
  assert.equal(session.ackedSeq, 1);
  assert.equal(session.replay.size, 0, "acked messages left the buffer");
  assert.equal(env.gateway.registry.get(c.sessionId), undefined, "session ended");
});

test("bare `mcp` subprotocol with ?resumable=1: resume without last_seq replays only what was never sent", async () => {
  const WebSocket = (await import("ws")).default;
  const base = env.url.replace(/^http/, "ws");
  const first = new WebSocket(`${base}/mcp/ws?client_id=bare&resumable=1`, ["mcp"]);
  const frames: any[] = [];
  first.on("message", (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r) => first.once("open", r));
  first.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "b", version: "1" } } }));
  while (frames.length === 0) await new Promise((r) => first.once("message", r));
  const sessionId = [...env.gateway.registry.byClient("bare")][0]!.id;
  // Wait for the gateway (not just our side) to see the socket gone.
  const gone = new Promise<void>((resolve) => {
    const on = (e: unknown) => {
      const ev = e as { type: string; clientId: string };
      if (ev.type === "disconnected" && ev.clientId === "bare") {
        diagnostics_channel.unsubscribe("mcp-gateway:connection", on);
        resolve();
      }
    };
    diagnostics_channel.subscribe("mcp-gateway:connection", on);
  });
  first.terminate();
  await gone;
  const session = env.gateway.registry.get(sessionId)!;
  assert.ok(session && !session.sink, "the session outlived its socket");
  // Sent while nobody is attached: recorded for the resume.
  session.send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  const second = new WebSocket(`${base}/mcp/ws?client_id=bare&session_id=${sessionId}`, ["mcp"]);
  const next = new Promise<any>((r) => second.once("message", (d) => r(JSON.parse(d.toString()))));
  assert.equal((await next).method, "notifications/tools/list_changed", "the initialize answer is not replayed again");
  second.close();
});
