// Client SDK against a real gateway with faults injected: connections that go
// silent (black-holed by a TCP proxy), the WebSocket endpoint refusing
// upgrades (failover to HTTP+SSE and back, one session). The numbered stream
// must arrive complete and in order; calls in flight complete.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { handleLegacySseStream } from "../../src/listeners/legacy-sse.js";
import type { TransportKind } from "../../src/client/index.js";
import { connectClient, nextEvent } from "./helpers/harness.js";
import { useProxiedGateway, settle } from "./helpers/proxied-gateway.js";

const TOTAL = 10_000;

const env = useProxiedGateway();

describe("dead connections (no close, no data)", () => {
  for (const kind of ["websocket", "http_sse"] as TransportKind[]) {
    test(`${kind}: a silent connection is detected by missed heartbeats and resumed`, async () => {
      const { client, transport, numbers } = await connectClient({ url: env.proxy.url, clientId: `faults-dead-${kind}`, transports: [kind], heartbeatTimeoutMs: 1500, pingIntervalMs: 300 });
      const reasons: string[] = [];
      transport.on("reconnecting", (e) => reasons.push(e.reason));
      try {
        const stream = settle(client.callTool({ name: "stream_updates", arguments: { count: 3000, chunk: 50, pause_ms: 10 } }, undefined, { timeout: 60_000 }));
        await numbers.until(1000);
        const reopened = nextEvent(transport, "open");
        assert.ok(env.proxy.stallAll() > 0);
        const open = (await reopened) as { resumed: boolean };
        assert.ok(open.resumed);
        assert.ok(reasons.some((r) => /heartbeat/.test(r)), `dropped for missed heartbeats: ${reasons.join(" | ")}`);
        await numbers.until(3000, 30_000);
        assert.ok((await stream).ok);
        assert.equal(numbers.received, 3000);
        assert.equal(numbers.duplicates, 0);
        assert.equal(numbers.outOfOrder, 0);
      } finally {
        await client.close();
      }
    });
  }
});

describe("websocket endpoint refusing upgrades", () => {
  const refuse = (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ error: "transport_unavailable" });
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    return Promise.resolve();
  };
  let original: ((req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>) | undefined;
  before(() => {
    original = env.gateway.upgradeHandlers.get("/mcp/ws");
  });
  after(() => {
    if (original) env.gateway.upgradeHandlers.set("/mcp/ws", original);
  });

  test("mid-stream: fails over to HTTP+SSE after 3 refusals and resumes the same session", async () => {
    const { client, transport, numbers } = await connectClient({ url: env.proxy.url, clientId: "faults-failover", transports: ["websocket", "http_sse"] });
    try {
      assert.equal(transport.transport, "websocket");
      const sessionId = transport.sessionId;
      const refusals: string[] = [];
      transport.on("reconnecting", (e) => refusals.push(`${e.transport}: ${e.reason}`));
      const stream = settle(client.callTool({ name: "stream_updates", arguments: { count: TOTAL, chunk: 50, pause_ms: 10 } }, undefined, { timeout: 60_000 }));
      await numbers.until(3000);
      env.gateway.upgradeHandlers.set("/mcp/ws", refuse);
      const switched = nextEvent(transport, "transport_switch");
      env.proxy.destroyAll();
      const sw = (await switched) as { from: string; to: string; sessionId?: string };
      assert.deepEqual([sw.from, sw.to], ["websocket", "http_sse"]);
      await numbers.until(TOTAL, 30_000);
      const result = await stream;
      assert.ok(result.ok, `the call in flight completed over the new transport: ${result.text}`);
      assert.equal(numbers.received, TOTAL);
      assert.equal(numbers.duplicates, 0);
      assert.equal(numbers.outOfOrder, 0);
      assert.equal(transport.transport, "http_sse");
      assert.equal(transport.sessionId, sessionId, "same session, resumed");
      // The drop plus two refused attempts make three failures: then the switch.
      assert.ok(refusals.filter((r) => r.startsWith("websocket")).length >= 2, `websocket retried before the switch: ${refusals.join(" | ")}`);
      assert.ok(refusals.some((r) => /503/.test(r)), `the refusal is named: ${refusals.join(" | ")}`);
    } finally {
      env.gateway.upgradeHandlers.set("/mcp/ws", original!);
      await client.close();
    }
  });

  test("websocket -> HTTP+SSE -> websocket: one session, nothing lost or repeated", async () => {
    const sseRoute = (req: IncomingMessage, res: import("node:http").ServerResponse) => handleLegacySseStream(req, res, env.gateway.context);
    const { client, transport, numbers } = await connectClient({ url: env.proxy.url, clientId: "faults-round-trip", transports: ["websocket", "http_sse"] });
    try {
      const sessionId = transport.gatewaySessionId;
      const hops: string[] = [];
      transport.on("transport_switch", (e) => hops.push(`${e.from}->${e.to}`));
      const stream = settle(client.callTool({ name: "stream_updates", arguments: { count: TOTAL, chunk: 50, pause_ms: 10 } }, undefined, { timeout: 60_000 }));
      await numbers.until(2500);
      // WebSocket refused: over to HTTP+SSE.
      env.gateway.upgradeHandlers.set("/mcp/ws", refuse);
      let switched = nextEvent(transport, "transport_switch");
      env.proxy.destroyAll();
      await switched;
      await numbers.until(numbers.last + 500);
      // WebSocket back, HTTP+SSE refused: back to WebSocket.
      env.gateway.upgradeHandlers.set("/mcp/ws", original!);
      env.gateway.router.on("GET", "/mcp/sse", (_req, res) => {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "transport_unavailable" }));
      });
      switched = nextEvent(transport, "transport_switch");
      env.proxy.destroyAll();
      await switched;
      await numbers.until(TOTAL, 30_000);
      assert.ok((await stream).ok, "the call in flight completed across both switches");
      assert.deepEqual(hops, ["websocket->http_sse", "http_sse->websocket"]);
      assert.equal(transport.transport, "websocket");
      assert.equal(transport.gatewaySessionId, sessionId, "one session throughout");
      assert.equal(numbers.received, TOTAL);
      assert.equal(numbers.duplicates, 0);
      assert.equal(numbers.outOfOrder, 0);
    } finally {
      env.gateway.upgradeHandlers.set("/mcp/ws", original!);
      env.gateway.router.on("GET", "/mcp/sse", sseRoute);
      await client.close();
    }
  });

  test("from the start: the client connects over the next transport", async () => {
    env.gateway.upgradeHandlers.set("/mcp/ws", refuse);
    try {
      const { client, transport } = await connectClient({ url: env.proxy.url, clientId: "faults-refused", transports: ["websocket", "http_sse"] });
      try {
        assert.equal(transport.transport, "http_sse");
        const echo = (await client.callTool({ name: "echo", arguments: { text: "via sse" } })) as { content: Array<{ text: string }> };
        assert.equal(echo.content[0]!.text, "via sse");
      } finally {
        await client.close();
      }
    } finally {
      env.gateway.upgradeHandlers.set("/mcp/ws", original!);
    }
  });
});
