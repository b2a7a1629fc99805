// The shipped deploy/nginx/mcp-gateway.conf, for real: Debian's nginx started on a loopback port
// with a temporary prefix, in front of a live gateway. Every endpoint of docs/operations.md answers
// through it as it answers directly (no 403 host_not_allowed), MCP works over Streamable HTTP,
// HTTP+SSE and WebSocket (official SDK clients), an HTTP+SSE stream idle past the proxy's read
// timeout is kept open by the gateway's heartbeats, and a WebSocket carries traffic.
//
// The test copy changes three things only: the listen address, the upstream port, and the
// /mcp/sse proxy_read_timeout (1 s instead of 3600 s, with heartbeats every 250 ms), so "idle past
// the read timeout" takes a second rather than a minute. Skipped with a printed reason when nginx
// is not installed (apt-get install -y nginx).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import { openSse } from "../helpers/sse-reader.js";

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const root = fileURLToPath(new URL("../../", import.meta.url));
const NGINX = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].find((p) => spawnSync(p, ["-v"]).status === 0);
const SSE_READ_TIMEOUT_S = 1;
const HEARTBEAT_MS = 250;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The shipped file with only the listen address, the upstream port and the SSE read timeout changed. */
function testCopy(gatewayPort: number, nginxPort: number): string {
  const shipped = readFileSync(join(root, "deploy/nginx/mcp-gateway.conf"), "utf8");
  const sse = /(location \/mcp\/sse \{[\s\S]*?)proxy_read_timeout 3600s;/;
  assert.match(shipped, sse, "the /mcp/sse block sets proxy_read_timeout");
  assert.match(shipped, /server 127\.0\.0\.1:4000;/);
  assert.match(shipped, /listen 80;/);
  return shipped
    .replace("server 127.0.0.1:4000;", `server 127.0.0.1:${gatewayPort};`)
    .replace("listen 80;", `listen 127.0.0.1:${nginxPort};`)
    .replace(sse, `$1proxy_read_timeout ${SSE_READ_TIMEOUT_S}s;`);
}

/** Starts nginx in the foreground; resolves once it says its workers started. */
async function startNginx(prefix: string, conf: string): Promise<ChildProcess> {
  for (const d of ["tmp", "logs"]) mkdirSync(join(prefix, d), { recursive: true });
  writeFileSync(join(prefix, "mcp-gateway.conf"), conf);
  const t = join(prefix, "tmp");
  writeFileSync(
    join(prefix, "nginx.conf"),
    [
      "daemon off;",
      "worker_processes 1;",
      `pid ${join(prefix, "nginx.pid")};`,
      "error_log stderr notice;",
      // As root, workers would switch to "nobody", who cannot write the temp directories.
      ...(process.getuid?.() === 0 ? ["user root;"] : []),
      "events { worker_connections 256; }",
      "http {",
      "  access_log off;",
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((k) => `  ${k}_temp_path ${join(t, k)};`),
      `  include ${join(prefix, "mcp-gateway.conf")};`,
      "}",
    ].join("\n"),
  );
  const check = spawnSync(NGINX!, ["-t", "-p", prefix, "-c", join(prefix, "nginx.conf")], { encoding: "utf8" });
  assert.equal(check.status, 0, `nginx -t: ${check.stderr}`);
  const proc = spawn(NGINX!, ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  await new Promise<void>((resolve, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (/start worker process/.test(stderr)) resolve();
    });
    proc.once("exit", (code) => reject(new Error(`nginx exited ${code}: ${stderr}`)));
  });
  return proc;
}

describe("deploy/nginx/mcp-gateway.conf in front of a live gateway", { skip: NGINX ? false : "nginx not installed (apt-get install -y nginx): the shipped config is not tested for real" }, () => {
  let gateway: Gateway;
  let direct: string;
  let proxied: string;
  let nginx: ChildProcess | undefined;
  let prefix: string;

  before(async () => {
    let port: number;
    ({ gateway, url: direct, port } = await startTestGateway({ upstreams: [everythingUpstream()], http_sse: { heartbeat_interval: HEARTBEAT_MS } }));
    const nginxPort = await freePort();
    prefix = mkdtempSync(join(tmpdir(), "nginx-mcp-"));
    nginx = await startNginx(prefix, testCopy(port, nginxPort));
    proxied = `http://127.0.0.1:${nginxPort}`;
  });
  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx!.once("exit", r));
      nginx.kill("SIGQUIT");
      await exited;
    }
    await gateway?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  test("every endpoint of docs/operations.md answers through nginx as it does directly", async () => {
    const doc = readFileSync(join(root, "docs/operations.md"), "utf8");
    const rows = [...doc.matchAll(/^\| (GET|POST|GET \/ POST) \| `([^`]+)` \|/gm)].flatMap(([, methods, path]) => methods!.split(" / ").map((m) => [m, path!] as const));
    assert.ok(rows.length >= 30, `admin table parsed: ${rows.length} rows`);
    const publicPaths = [...doc.matchAll(/`GET (\/[^`\s]+)`/g)].map((m) => m[1]!);
    for (const p of ["/health", "/health/gateway", "/mcp/health/client/:client_id", "/mcp/stats", "/metrics", "/dashboard"]) assert.ok(publicPaths.includes(p), p);
    const all = [...publicPaths.map((p) => ["GET", p] as const), ["GET", "/.well-known/oauth-protected-resource"] as const, ...rows];
    // Destructive actions last, so they do not change what the others see.
    const order = (p: string) => (/reset|restart|clear|gc|cleanup/.test(p) ? 1 : 0);
    all.sort((a, b) => order(a[1]) - order(b[1]));
    const bodies: Record<string, unknown> = {
      "/mcp/admin/rate-limit/set": { key: "user:nginx", limit: 50 },
      "/mcp/admin/rate-limit/reset": { key: "user:nginx" },
      "/mcp/admin/config": { path: "pool.size", value: 100 },
      "/mcp/admin/logging": { debug: false },
      "/mcp/admin/breakers/reset": { target: "all" },
    };
    const seen: string[] = [];
    for (const [method, template] of all) {
      const path = template.replace(":client_id", "user123").replace(":id", "user123").replace(":t", "websocket").replace("/mcp/admin/rate-limit/check", "/mcp/admin/rate-limit/check?key=user:nginx").replace("/mcp/admin/config", method === "GET" ? "/mcp/admin/config?path=pool.size" : "/mcp/admin/config");
      const call = async (base: string) => {
        const ac = new AbortController();
        const res = await fetch(base + path, {
          method,
          signal: ac.signal,
          headers: { authorization: "Bearer admin-token", ...(method === "POST" ? { "content-type": "application/json" } : {}) },
          body: method === "POST" ? JSON.stringify(bodies[template] ?? {}) : undefined,
        });
        // The dashboard stream never ends: the status and the first bytes are enough.
        const text = path === "/dashboard/stream" ? "" : await res.text();
        ac.abort();
        return { status: res.status, text, type: res.headers.get("content-type") };
      };
      const a = await call(direct);
      const b = await call(proxied);
      assert.equal(b.status, a.status, `${method} ${path} through nginx: ${b.status} ${b.text.slice(0, 200)}`);
      assert.doesNotMatch(b.text, /host_not_allowed/, `${method} ${path}`);
      assert.equal(b.type, a.type, `${method} ${path} content-type`);
      seen.push(`${method} ${path} ${b.status}`);
    }
    assert.ok(seen.some((s) => s.startsWith("GET /health/gateway 200")), seen.join("\n"));
  });

  test("MCP over Streamable HTTP, HTTP+SSE and WebSocket through nginx (SDK clients)", async () => {
    const transports = [
      () => new StreamableHTTPClientTransport(new URL(`${proxied}/mcp`)),
      () => new SSEClientTransport(new URL(`${proxied}/mcp/sse?client_id=nginx-sse`)),
      () => new WebSocketClientTransport(new URL(`${proxied.replace("http", "ws")}/mcp/ws?client_id=nginx-ws`)),
    ];
    for (const make of transports) {
      const client = new Client({ name: "through-nginx", version: "1" });
      await client.connect(make());
      try {
        const tools = await client.listTools();
        assert.ok(tools.tools.some((t) => t.name === "echo"));
        const r = await client.callTool({ name: "echo", arguments: { message: "via nginx" } });
        assert.match(JSON.stringify(r.content), /via nginx/);
      } finally {
        await client.close();
      }
    }
  });

  test("an HTTP+SSE stream idle past proxy_read_timeout stays open on heartbeats; without them nginx cuts it", async () => {
    const sse = await openSse(`${proxied}/mcp/sse?client_id=idle-sse`);
    try {
      assert.equal(sse.res.statusCode, 200);
      const endpoint = await sse.next("endpoint");
      // Heartbeats spanning three read timeouts: nothing but heartbeats crossed the proxy meanwhile.
      const beats = Math.ceil((3 * SSE_READ_TIMEOUT_S * 1000) / HEARTBEAT_MS);
      for (let i = 0; i < beats; i++) await sse.next("heartbeat");
      // Still the same live stream: a request posted now is answered on it.
      const post = await fetch(new URL(endpoint, proxied), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });
      assert.equal(post.status, 202);
      assert.match(await sse.next("message"), /"id":1/);
    } finally {
      sse.close();
    }
    // Control: with heartbeats off (a runtime key, read when a stream opens), the same idle stream is cut by nginx.
    gateway.config.update("http_sse.heartbeat_interval", 0);
    try {
      const quiet = await openSse(`${proxied}/mcp/sse?client_id=quiet-sse`);
      await quiet.next("endpoint");
      await quiet.ended;
      assert.ok(quiet.res.complete || quiet.res.destroyed || quiet.res.readableEnded);
    } finally {
      gateway.config.update("http_sse.heartbeat_interval", HEARTBEAT_MS);
    }
  });

  test("a raw WebSocket through nginx: upgrade, request, answer", async () => {
    const ws = new WebSocket(`${proxied.replace("http", "ws")}/mcp/ws?client_id=raw-ws`, "mcp");
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    try {
      const answer = new Promise<string>((r) => ws.on("message", (d) => String(d).includes('"id":7') && r(String(d))));
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }));
      assert.match(await answer, /"protocolVersion"/);
    } finally {
      ws.close();
    }
  });
});
