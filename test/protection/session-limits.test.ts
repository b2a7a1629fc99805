/**
 * Issue 11 items 7 and 8: idle Streamable HTTP sessions expire per
 * session.ttl, a refused initialize creates nothing, per-client and global
 * session caps answer too_many_sessions, and creating a session (also
 * GET /mcp/sse and WebSocket upgrades) costs a request of the rate window.
 * Real gateway on port 0, raw HTTP and WebSocket clients.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import WebSocket from "ws";
import { startTestGateway } from "../helpers/gateway.js";
import type { GatewayConfigInput } from "../../src/config/index.js";

const INIT = (id = 1) => JSON.stringify({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function initialize(url: string, clientId: string): Promise<{ status: number; session: string | null; body: any }> {
  const res = await fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "x-client-id": clientId }, body: INIT() });
  return { status: res.status, session: res.headers.get("mcp-session-id"), body: await res.json() };
}

/** Opens GET /mcp/sse; resolves with the status and closes the stream at once. */
function openSse(url: string, clientId: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/mcp/sse?client_id=${clientId}`, { headers: { accept: "text/event-stream" } }, (res) => {
      if (res.statusCode === 200) {
        res.once("data", () => {
          resolve({ status: 200, body: "" });
          req.destroy();
        });
        return;
      }
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", (err) => (err.message.includes("socket hang up") ? undefined : reject(err)));
  });
}

async function withGateway(input: GatewayConfigInput, fn: (url: string, gw: Awaited<ReturnType<typeof startTestGateway>>["gateway"]) => Promise<void>) {
  const { gateway, url } = await startTestGateway({ upstreams: [], ...input });
  try {
    await fn(url, gateway);
  } finally {
    await gateway.close();
  }
}

describe("session TTL on every transport", () => {
  test("an idle Streamable HTTP session expires after session.ttl and its id is then unknown", async () => {
    await withGateway({ session: { ttl: 300 }, rate_limiting: { enabled: false } }, async (url, gateway) => {
      const ended = new Promise<string>((resolve) => gateway.registry.onEnd((s) => resolve(s.id)));
      const first = await initialize(url, "ttl-client");
      assert.equal(first.status, 200);
      assert.ok(first.session);
      assert.equal(gateway.registry.size, 1);
      // Bounded: the test runner's timeout ends a session that never expires.
      const id = await ended;
      assert.equal(id, first.session);
      assert.equal(gateway.registry.size, 0);
      const res = await fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "mcp-session-id": first.session!, "x-client-id": "ttl-client" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) });
      assert.equal(res.status, 404);
    });
  });

  test("a session with a GET stream open does not expire while it is open", async () => {
    await withGateway({ session: { ttl: 200 }, rate_limiting: { enabled: false } }, async (url, gateway) => {
      const first = await initialize(url, "stream-client");
      const controller = new AbortController();
      const res = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": first.session!, "x-client-id": "stream-client" }, signal: controller.signal });
      assert.equal(res.status, 200);
      // A sweep long past the TTL leaves it alone while the stream is open.
      const swept = gateway.registry.expire(200, Date.now() + 1000);
      assert.equal(swept, 0);
      assert.equal(gateway.registry.size, 1);
      controller.abort();
      await res.body?.cancel().catch(() => {});
      const ended = new Promise<void>((resolve) => gateway.registry.onEnd(() => resolve()));
      await ended;
      assert.equal(gateway.registry.size, 0);
    });
  });
});

describe("refused requests create nothing; session creation is rate limited", () => {
  test("an initialize answered 429 leaves no session behind", async () => {
    await withGateway({ rate_limiting: { default_limit: 2 } }, async (url, gateway) => {
      assert.equal((await initialize(url, "rl")).status, 200);
      assert.equal((await initialize(url, "rl")).status, 200);
      const refused = await initialize(url, "rl");
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.data.error, "rate_limit_exceeded");
      assert.equal(refused.session, null);
      assert.equal(gateway.registry.countOf("rl"), 2);
      assert.equal(gateway.registry.size, 2);
    });
  });

  test("the initialize of an admitted session is not counted twice", async () => {
    await withGateway({ rate_limiting: { default_limit: 2 } }, async (url) => {
      const { session } = await initialize(url, "once");
      const ping = (id: number) => fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "mcp-session-id": session!, "x-client-id": "once" }, body: JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }) });
      assert.equal((await ping(2)).status, 200);
      assert.equal((await ping(3)).status, 429);
    });
  });

  test("GET /mcp/sse counts against the rate window and a refused one creates no session", async () => {
    await withGateway({ rate_limiting: { default_limit: 3 } }, async (url, gateway) => {
      for (let i = 0; i < 3; i++) assert.equal((await openSse(url, "sse-flood")).status, 200);
      const refused = await openSse(url, "sse-flood");
      assert.equal(refused.status, 429);
      assert.equal(JSON.parse(refused.body).error, "rate_limit_exceeded");
      // The streams above were closed: sessions detached or ended, but never more than three were made.
      assert.ok(gateway.registry.countOf("sse-flood") <= 3);
      assert.equal((await openSse(url, "someone-else")).status, 200);
    });
  });

  test("a WebSocket upgrade counts against the rate window", async () => {
    await withGateway({ rate_limiting: { default_limit: 1 } }, async (url, gateway) => {
      const wsUrl = `${url.replace("http", "ws")}/mcp/ws?client_id=ws-flood`;
      const ok = new WebSocket(wsUrl, "mcp");
      await once(ok, "open");
      const refused = new WebSocket(wsUrl, "mcp");
      const [, res] = (await once(refused, "unexpected-response")) as [unknown, http.IncomingMessage];
      assert.equal(res.statusCode, 429);
      res.resume();
      assert.equal(gateway.registry.countOf("ws-flood"), 1);
      ok.close();
    });
  });
});

describe("session caps", () => {
  test("session.max_sessions_per_client: the next session gets too_many_sessions, other clients are served", async () => {
    await withGateway({ session: { max_sessions_per_client: 3 }, rate_limiting: { enabled: false } }, async (url, gateway) => {
      for (let i = 0; i < 3; i++) assert.equal((await initialize(url, "capped")).status, 200);
      const refused = await initialize(url, "capped");
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.data.error, "too_many_sessions");
      assert.equal(refused.body.error.code, -32051);
      assert.equal(gateway.registry.countOf("capped"), 3);
      assert.equal((await initialize(url, "other")).status, 200);
      // Detached sessions count too: an HTTP+SSE stream of the same client is refused.
      assert.equal((await openSse(url, "capped")).status, 429);
    });
  });

  test("session.max_sessions caps the node across clients", async () => {
    await withGateway({ session: { max_sessions: 4 }, rate_limiting: { enabled: false } }, async (url, gateway) => {
      for (let i = 0; i < 4; i++) assert.equal((await initialize(url, `c${i}`)).status, 200);
      const refused = await initialize(url, "c-late");
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.data.error, "too_many_sessions");
      assert.equal(gateway.registry.size, 4);
      // A DELETE frees a slot.
      const list = [...gateway.registry.all()];
      const victim = list[0]!;
      const del = await fetch(`${url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": victim.id, "x-client-id": victim.clientId } });
      assert.equal(del.status, 200);
      assert.equal((await initialize(url, "c-late")).status, 200);
    });
  });

  test("a Phoenix join past the per-client cap is replied too_many_sessions; the first channel keeps working", async () => {
    await withGateway({ session: { max_sessions_per_client: 1 }, rate_limiting: { enabled: false } }, async (url, gateway) => {
      const join = async () => {
        const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws/websocket?vsn=2.0.0&client_id=phx-capped`, "phoenix");
        await once(ws, "open");
        const reply = new Promise<any[]>((resolve) => ws.on("message", (d) => {
          const f = JSON.parse(d.toString());
          if (f[3] === "phx_reply" && f[1] === "1") resolve(f);
        }));
        ws.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
        return { ws, reply: await reply };
      };
      const first = await join();
      assert.equal(first.reply[4].status, "ok");
      const second = await join();
      assert.equal(second.reply[4].status, "error");
      assert.equal(second.reply[4].response.error, "too_many_sessions");
      assert.equal(gateway.registry.countOf("phx-capped"), 1);
      first.ws.close();
      second.ws.close();
    });
  });
});
