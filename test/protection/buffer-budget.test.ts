/**
 * Issue 11 item 10: no aggregate bound across slow clients (300 non-reading
 * WebSocket clients and a 3 MB broadcast: 314 MB of replay buffers). Replay
 * buffers and unread socket bytes now share backpressure.max_total_buffered_bytes,
 * and bare WebSocket sessions, which nobody can resume, keep no replay buffer.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import WebSocket from "ws";
import { SessionRegistry } from "../../src/session/registry.js";
import { resumePlan } from "../../src/session/continuity.js";
import { startTestGateway } from "../helpers/gateway.js";
import { WsClient } from "../helpers/ws-client.js";

const INIT = { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } };

describe("the gateway-wide buffer budget", () => {
  test("300 detached sessions recording a 300 KB broadcast stay within the budget; what fell out is a gap", () => {
    const budget = 4 * 1024 * 1024;
    const registry = new SessionRegistry({ size: 1000, bytes: 1024 * 1024 }, budget);
    const sessions = Array.from({ length: 300 }, (_, i) => registry.create(`c${i}`, "websocket"));
    const broadcast = JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x".repeat(300_000) } });
    for (const s of sessions) s.record(broadcast, "ws");
    assert.ok(registry.budget.replayBytes <= budget, `${registry.budget.replayBytes} replay bytes > ${budget}`);
    // Without the budget every session would hold it: 300 x 300 KB = 90 MB.
    const holding = sessions.filter((s) => s.hasReplay).length;
    assert.ok(holding > 0 && holding < 300, `${holding} sessions hold the broadcast`);
    const dropped = sessions.find((s) => !s.hasReplay)!;
    assert.deepEqual(resumePlan(dropped, 0).gap, { from: 1, to: 1 });
    for (const s of sessions) registry.end(s);
    assert.equal(registry.budget.replayBytes, 0, "ended sessions give their bytes back");
  });

  test("a bare WebSocket session keeps no replay buffer; an envelope session does", async () => {
    const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { enabled: false } });
    try {
      const bare = await WsClient.open(url, "bare");
      await bare.request("initialize", INIT);
      for (let i = 0; i < 5; i++) assert.deepEqual((await bare.request("ping")).result, {});
      const [bareSession] = gateway.registry.byClient("bare");
      assert.equal(bareSession!.lastSeq >= 6, true, "messages are still sequenced");
      assert.equal(bareSession!.hasReplay, false, "but not kept");

      const env = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=env`, "mcp-gateway.v1");
      await once(env, "open");
      const answered = new Promise<void>((resolve) => env.on("message", (d) => (JSON.parse(d.toString()).message?.id === 1 ? resolve() : undefined)));
      env.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
      await answered;
      assert.equal(gateway.registry.byClient("env")[0]!.hasReplay, true);
      env.close();
      bare.ws.close();
    } finally {
      await gateway.close();
    }
  });

  test("clients that stop reading: replay and unread bytes stay near the budget while a reader is served", async () => {
    const budget = 1024 * 1024;
    const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { enabled: false }, backpressure: { max_total_buffered_bytes: budget, max_buffered_bytes: 256 * 1024 } });
    try {
      const big = "y".repeat(60_000);
      const slow: WebSocket[] = [];
      for (let i = 0; i < 8; i++) {
        const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=slow${i}`, "mcp-gateway.v1");
        await once(ws, "open");
        // Stops reading: the socket is not read any more, so the gateway's writes pile up.
        ws.pause();
        slow.push(ws);
      }
      // Each non-reader is sent 40 messages of 60 KB (2.4 MB each, 19 MB in all) by the gateway itself.
      for (const s of gateway.registry.all()) for (let k = 0; k < 40; k++) s.send({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: big } });
      const replay = [...gateway.registry.all()].reduce((n, s) => n + (s.hasReplay ? s.replay.bytes : 0), 0);
      assert.ok(replay <= budget, `${replay} replay bytes > ${budget}`);
      assert.equal(gateway.registry.budget.replayBytes, replay);
      const unread = [...gateway.registry.all()].reduce((n, s) => n + (s.sink?.bufferedBytes?.() ?? 0), 0);
      // Each behind client may hold one message past its own cap before it counts as full.
      assert.ok(unread <= 8 * (256 * 1024 + 61_000), `${unread} unread bytes`);
      const reader = await WsClient.open(url, "reader");
      assert.ok((await reader.request("initialize", INIT)).result);
      assert.deepEqual((await reader.request("ping")).result, {});
      reader.ws.close();
      for (const ws of slow) ws.terminate();
    } finally {
      await gateway.close();
    }
  });
});
