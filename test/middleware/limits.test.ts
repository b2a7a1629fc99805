/**
 * Limits and hostile input, with real sockets: WebSocket frame size (close
 * 1008, others unaffected), HTTP body limit (413), header size and count
 * (431), trickling clients (cut off after the timeouts), Origin/Host checks
 * (403) and connection caps (too_many_connections).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const INIT = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** Sends raw bytes, resolves with everything the server wrote before closing (bounded by 10 s). */
function raw(port: number, chunks: Array<string | Buffer>, opts: { gapMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after 10 s; got: ${out.slice(0, 200)}`));
    }, 10_000);
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (out += d));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    let i = 0;
    const next = () => {
      if (socket.destroyed || i >= chunks.length) return;
      socket.write(chunks[i++]!);
      if (opts.gapMs) setTimeout(next, opts.gapMs).unref();
      else next();
    };
    socket.on("connect", next);
  });
}

function wsUrl(url: string, query = ""): string {
  return `${url.replace("http", "ws")}/mcp/ws${query}`;
}

describe("size limits, header limits, slow clients", () => {
  let gateway: Gateway;
  let url: string;
  let port: number;
  before(async () => {
    ({ gateway, url, port } = await startTestGateway({
      server: { headers_timeout: 500, request_timeout: 1000, max_header_size: 4096, max_headers_count: 20 },
      upstreams: [everythingUpstream()],
      rate_limiting: { enabled: false },
    }));
  });
  after(() => gateway?.close());

  test("a 70 KB WebSocket frame closes that socket with 1008; another client keeps being served", async () => {
    const other = new Client({ name: "other", version: "1" });
    await other.connect(new WebSocketClientTransport(new URL(wsUrl(url, "?client_id=other"))));
    const ws = new WebSocket(wsUrl(url, "?client_id=big"), "mcp");
    await once(ws, "open");
    const closed = once(ws, "close") as Promise<[number, Buffer]>;
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(70 * 1024) } }));
    const [code] = await closed;
    assert.equal(code, 1008);
    const r = await other.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.match(JSON.stringify(r.content), /still here/);
    await other.close();
  });

  test("an HTTP body over server.body_limit (4 MiB) gets 413 and says why", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(4 * 1024 * 1024) } });
    const r = await fetch(`${url}/mcp`, { method: "POST", headers: MCP_HEADERS, body: big });
    assert.equal(r.status, 413);
    const body = await r.json();
    assert.equal(body.error.data.error, "message_too_large");
    assert.match(body.error.message, /exceeds the limit of 4194304/);
  });

  test("the body limit also holds without a Content-Length (chunked)", async () => {
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    const chunk = "x".repeat(1024 * 1024);
    const piece = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const out = await raw(port, [head, piece, piece, piece, piece, piece, "0\r\n\r\n"]);
    assert.match(out, /^HTTP\/1\.1 413/);
  });

  test("headers over server.max_header_size get 431", async () => {
    const r = await raw(port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"y".repeat(8000)}\r\n\r\n`]);
    assert.match(r, /^HTTP\/1\.1 431/);
  });

  test("more headers than server.max_headers_count get 431", async () => {
    const many = Array.from({ length: 30 }, (_, i) => `X-H${i}: v`).join("\r\n");
    const r = await raw(port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}\r\nConnection: close\r\n\r\n`]);
    assert.match(r, /^HTTP\/1\.1 431/);
    assert.match(r, /headers_too_large/);
    const ok = await raw(port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`]);
    assert.match(ok, /^HTTP\/1\.1 (200|503)/);
  });

  test("a client trickling its headers is cut off after server.headers_timeout", async () => {
    const parts = ["GET /health HTTP/1.1\r\n", ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: a\r\n`)];
    const out = await raw(port, parts, { gapMs: 100 });
    // Closed by the server well before the 40 headers (4 s) were sent.
    assert.match(out, /^HTTP\/1\.1 408|^$/);
  });

  test("a client trickling its body is cut off after server.request_timeout", async () => {
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n`;
    const out = await raw(port, [head, ...Array.from({ length: 40 }, () => "          ")], { gapMs: 100 });
    assert.match(out, /^HTTP\/1\.1 408|^$/);
  });
});

describe("Origin and Host validation (DNS rebinding)", () => {
  let gateway: Gateway;
  let url: string;
  let port: number;
  before(async () => {
    ({ gateway, url, port } = await startTestGateway({ server: { allowed_origins: ["https://app.example.com"] } }));
  });
  after(() => gateway?.close());

  test("a bad Origin gets 403 on HTTP and on the WebSocket upgrade", async () => {
    const r = await fetch(`${url}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, origin: "http://evil.example.com" }, body: INIT });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error, "origin_not_allowed");
    const ws = new WebSocket(wsUrl(url), "mcp", { origin: "http://evil.example.com" });
    ws.on("error", () => {});
    const [, res] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
    assert.equal(res.statusCode, 403);
    ws.terminate();
  });

  test("Host: evil.example.com gets 403 (the conformance dns-rebinding scenario)", async () => {
    const out = await raw(port, [`POST /mcp HTTP/1.1\r\nHost: evil.example.com\r\nOrigin: http://evil.example.com\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${INIT.length}\r\nConnection: close\r\n\r\n${INIT}`]);
    assert.match(out, /^HTTP\/1\.1 403/);
    assert.match(out, /host_not_allowed/);
  });

  test("an allowed Origin from server.allowed_origins, and loopback origins, pass", async () => {
    for (const origin of ["https://app.example.com", `http://127.0.0.1:${port}`, "http://localhost:3000"]) {
      const r = await fetch(`${url}/mcp`, { method: "POST", headers: { ...MCP_HEADERS, origin }, body: INIT });
      assert.equal(r.status, 200, origin);
      await r.arrayBuffer();
    }
  });
});

describe("connection caps", () => {
  let gateway: Gateway;
  let url: string;
  let port: number;
  before(async () => {
    ({ gateway, url, port } = await startTestGateway({ server: { max_connections: 6, max_connections_per_client: 2 } }));
  });
  after(() => gateway?.close());

  test("past server.max_connections_per_client a client is refused with too_many_connections", async () => {
    const open = async () => {
      const ws = new WebSocket(wsUrl(url, "?client_id=greedy"), "mcp");
      return new Promise<{ ws: WebSocket; status: number; body: string }>((resolve) => {
        ws.on("open", () => resolve({ ws, status: 101, body: "" }));
        ws.on("error", () => {});
        ws.on("unexpected-response", (_q, res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c));
          res.on("end", () => resolve({ ws, status: res.statusCode!, body }));
        });
      });
    };
    const a = await open();
    const b = await open();
    assert.equal(a.status, 101);
    assert.equal(b.status, 101);
    const c = await open();
    assert.equal(c.status, 503);
    assert.equal(JSON.parse(c.body).error, "too_many_connections");
    // Another client is not affected.
    const other = new WebSocket(wsUrl(url, "?client_id=modest"), "mcp");
    await once(other, "open");
    // Freeing one lets the greedy client in again.
    a.ws.close();
    await once(a.ws, "close");
    const deadline = Date.now() + 5000;
    let d = await open();
    while (d.status !== 101 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      d = await open();
    }
    assert.equal(d.status, 101);
    for (const ws of [b.ws, d.ws, other]) ws.close();
  });

  test("past server.max_connections a socket gets 503 too_many_connections", async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const s = net.connect(port, "127.0.0.1");
        await once(s, "connect");
        held.push(s);
      }
      const out = await raw(port, [`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
      assert.match(out, /^HTTP\/1\.1 503/);
      assert.match(out, /too_many_connections/);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
