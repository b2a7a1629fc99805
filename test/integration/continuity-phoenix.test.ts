// Phoenix channel clients end to end with the real `phoenix` npm package (the guide's
// client code): join, MCP initialize and tools/call through push("message"), ping, ack,
// the socket heartbeat, the guide's auth error, and resume after hard cuts through
// phoenix.js's own reconnect + rejoin with {session_id, last_seq}.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Socket } from "phoenix";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { GatewayError } from "../../src/errors/index.js";
import { selfNamedIdentity } from "../../src/listeners/identity.js";
import { queryOf } from "../../src/listeners/http-util.js";
import { Inbox, prng, streamUpstream } from "../helpers/continuity.js";

let gateway: Gateway;
let wsUrl: string;

before(async () => {
  const s = await startGateway(
    validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, routing: { prefix: "never" }, rate_limiting: { enabled: false }, upstreams: [streamUpstream()] }),
    {
      // The guide's token check: token "bad" is refused, anything else names the client.
      authenticate: (req) => {
        if (queryOf(req).get("token") === "bad") throw new GatewayError("authentication_failed", { reason: "invalid_token" });
        return selfNamedIdentity(req);
      },
    },
  );
  gateway = s.gateway;
  wsUrl = `ws://127.0.0.1:${s.port}/mcp/ws`;
});
after(() => gateway?.close());

function newSocket(params: Record<string, string>, extra: Record<string, unknown> = {}) {
  return new Socket(wsUrl, { params, transport: WebSocket, vsn: "2.0.0", ...extra });
}

function join(channel: any): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    channel
      .join()
      .receive("ok", resolve)
      .receive("error", (e: unknown) => reject(Object.assign(new Error("join error"), { payload: e })))
      .receive("timeout", () => reject(new Error("join timeout")));
  });
}

function push(channel: any, event: string, payload: unknown): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    channel
      .push(event, payload)
      .receive("ok", resolve)
      .receive("error", (e: unknown) => reject(Object.assign(new Error(`${event} error`), { payload: e })))
      .receive("timeout", () => reject(new Error(`${event} timeout`)));
  });
}

const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "phoenix-client", version: "1" } } };

test("phoenix: join, initialize and tools/call via push('message'), ping, ack, heartbeat", async () => {
  const socket = newSocket({ client_id: "phx_user", token: "good" }, { heartbeatIntervalMs: 50 });
  const heartbeats = new Inbox<unknown>();
  socket.onMessage((msg: any) => {
    if (msg.topic === "phoenix" && msg.event === "phx_reply" && msg.payload.status === "ok") heartbeats.push(msg);
  });
  socket.connect();
  try {
    const channel = socket.channel("mcp:gateway", {});
    const messages = new Inbox<Record<string, any>>();
    channel.on("message", (msg: Record<string, any>) => messages.push(msg));
    const joined = await join(channel);
    assert.equal(joined.client_id, "phx_user");
    assert.equal(typeof joined.session_id, "string");
    assert.equal(joined.last_seq, 0);

    assert.deepEqual(await push(channel, "message", INIT), {});
    const init = await messages.next();
    assert.equal(init.seq, 1);
    assert.equal(init.id, init.seq, "payload id repeats seq (for the guide's ack {msg_id: msg.id})");
    assert.equal(init.message.id, 1);
    assert.equal(init.message.result.serverInfo.name, "mcp-gateway");
    await push(channel, "message", { jsonrpc: "2.0", method: "notifications/initialized" });

    await push(channel, "message", { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 5 }, _meta: { progressToken: "t" } } });
    const progress: number[] = [];
    let answer: Record<string, any> | undefined;
    let last = init;
    for (let i = 0; i < 20 && !answer; i++) {
      const m = await messages.next();
      assert.equal(m.seq, last.seq + 1, "consecutive seq");
      last = m;
      if (m.message.method === "notifications/progress") progress.push(m.message.params.progress);
      else if (m.message.id === 2) answer = m.message;
    }
    assert.deepEqual(progress, [1, 2, 3, 4, 5]);
    assert.equal(answer?.result.content[0].text, "5");

    const acked = await push(channel, "ack", { msg_id: last.id });
    assert.equal(acked.acked, last.seq);
    const pong = await push(channel, "ping", {});
    assert.equal(typeof pong.pong, "number");
    // The socket-level heartbeat (topic "phoenix") is answered, again and again.
    for (let i = 0; i < 3; i++) await heartbeats.next(5000);
    const rtt = await new Promise<number>((resolve) => socket.ping(resolve));
    assert.ok(rtt >= 0);

    // phoenix.js confirms a leave locally at once; wait for the gateway to end the session.
    const ended = new Promise<void>((resolve) => gateway.registry.onEnd((s) => s.id === joined.session_id && resolve()));
    channel.leave();
    await ended;
    assert.equal(gateway.registry.get(joined.session_id), undefined, "leaving ends the session");
  } finally {
    socket.disconnect();
  }
});

test("phoenix: auth failure answers the join with the guide's error payload", async () => {
  const socket = newSocket({ client_id: "phx_user", token: "bad" });
  socket.connect();
  try {
    const channel = socket.channel("mcp:gateway", {});
    await assert.rejects(join(channel), (err: Error & { payload?: unknown }) => {
      assert.deepEqual(err.payload, { error: "authentication_failed", reason: "invalid_token", retry_after: null });
      return true;
    });
  } finally {
    socket.disconnect();
  }
});

test("phoenix: hard cuts, phoenix.js reconnects and rejoins with {session_id, last_seq}: every message exactly once", async () => {
  const COUNT = 100;
  const rng = prng(Number(process.env.CONTINUITY_SEED ?? 20261124));
  const state: { sessionId?: string; lastSeq: number } = { lastSeq: 0 };
  // A params function: phoenix.js sends its current value on every (re)join.
  const socket = newSocket({ client_id: "phx_cutter", token: "good" }, { reconnectAfterMs: () => 10, rejoinAfterMs: () => 10 });
  socket.connect();
  const seqs: number[] = [];
  const progress: number[] = [];
  const gaps: unknown[] = [];
  const joins: Array<Record<string, any>> = [];
  let cuts = 0;
  let untilCut = 1 + Math.floor(rng() * 20);
  let resolveAnswer!: (m: Record<string, any>) => void;
  const answered = new Promise<Record<string, any>>((r) => (resolveAnswer = r));
  const initialized = new Inbox<Record<string, any>>();
  try {
    const channel = socket.channel("mcp:gateway", () => (state.sessionId ? { session_id: state.sessionId, last_seq: state.lastSeq } : {}));
    channel.on("gap", (g: unknown) => gaps.push(g));
    channel.on("message", (msg: Record<string, any>) => {
      seqs.push(msg.seq);
      state.lastSeq = msg.seq;
      const m = msg.message;
      if (m.id === 1) initialized.push(m);
      if (m.method === "notifications/progress") progress.push(m.params.progress);
      if (m.id === 2) return resolveAnswer(m);
      if (progress.length > 0 && --untilCut <= 0 && cuts < 40) {
        untilCut = 1 + Math.floor(rng() * 20);
        cuts++;
        // No close frame: the peer just vanishes (the gateway records 1006).
        (socket as any).conn.terminate();
      }
    });
    const first = await join(channel);
    state.sessionId = first.session_id;
    channel.joinPush.receive("ok", (reply: Record<string, any>) => joins.push(reply));
    joins.length = 0; // receive() replays the first join's reply at once
    channel.push("message", INIT);
    await initialized.next();
    channel.push("message", { jsonrpc: "2.0", method: "notifications/initialized" });
    channel.push("message", { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: COUNT, interval_ms: 2 }, _meta: { progressToken: "p" } } });
    const answer = await Promise.race([answered, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no answer within 20 s")), 20_000).unref())]);
    assert.equal(answer.result.content[0].text, String(COUNT));
    assert.ok(cuts >= 3, `was cut (${cuts})`);
    assert.deepEqual(progress, Array.from({ length: COUNT }, (_, i) => i + 1), `exactly once, in order (cuts=${cuts})`);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), "consecutive seq from 1");
    assert.deepEqual(gaps, []);
    assert.ok(joins.length >= 1 && joins.every((j) => j.resumed === true && j.session_id === first.session_id), "rejoins resumed the same session");
  } finally {
    socket.disconnect();
  }
});

test("phoenix with the real api_key auth: token in socket params; bad and missing tokens answer the join", async () => {
  const { createHash } = await import("node:crypto");
  const sha = createHash("sha256").update("phx-good-key").digest("hex");
  const s = await startGateway(validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, auth: { mode: "api_key", api_keys: [{ sha256: sha, client_id: "keyed_user" }] } }));
  const url = `ws://127.0.0.1:${s.port}/mcp/ws`;
  const sockets: any[] = [];
  const tryJoin = async (params: Record<string, string>) => {
    const socket = new Socket(url, { params, transport: WebSocket, vsn: "2.0.0" });
    sockets.push(socket);
    socket.connect();
    return join(socket.channel("mcp:gateway", {}));
  };
  try {
    const ok = await tryJoin({ token: "phx-good-key" });
    assert.equal(ok.client_id, "keyed_user");
    for (const [params, reason] of [
      [{ token: "wrong" }, "invalid_token"],
      [{}, "missing_token"],
    ] as const) {
      await assert.rejects(tryJoin(params), (err: Error & { payload?: unknown }) => {
        assert.deepEqual(err.payload, { error: "authentication_failed", reason, retry_after: null });
        return true;
      });
    }
  } finally {
    for (const socket of sockets) socket.disconnect();
    await s.gateway.close();
  }
});
