// `mcp-gateway doctor` against a live gateway in trouble: pool exhaustion (a
// long call holding the only lease), an open upstream breaker (calls timing
// out), and a rate-limited client are each diagnosed with evidence and the
// fixing command; applying the fixes clears them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { runCli } from "../../src/cli/program.js";
import { diagnose } from "../../src/cli/doctor.js";
import { AdminClient } from "../../src/cli/admin-client.js";
import WebSocket from "ws";
import { WsClient } from "../helpers/ws-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const everything = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const LONG = "trigger-long-running-operation";

let gateway: Gateway;
let url: string;
const clients: WsClient[] = [];

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: url });
  return { code, out: lines.join("\n") };
}

before(async () => {
  ({ gateway, url } = await startGateway(
    validateConfig({
      server: { port: 0 },
      logging: { dir: "", stdout: false },
      pool: { size: 1, overflow: 0, checkout_timeout: 30_000 },
      circuit_breaker: { failure_threshold: 2, reset_timeout: 600_000 },
      shutdown: { drain_timeout: 200 },
      upstreams: [
        { name: "slow", transport: "stdio", command: process.execPath, args: [everything, "stdio"] },
        // Its long operation always exceeds its timeout: each call is an upstream failure.
        { name: "flaky", transport: "stdio", command: process.execPath, args: [everything, "stdio"], tool_timeouts: { [LONG]: 150 } },
      ],
    }),
  ));
});

after(async () => {
  for (const c of clients) c.ws.terminate();
  await gateway?.close();
});

test("a healthy gateway: doctor exits 0", async () => {
  const r = await cli("doctor");
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no problems found/);
  assert.match(r.out, /\[ok\]   pool/);
});

test("pool exhaustion, an open breaker and a rate-limited client are each diagnosed with their fix", async () => {
  const worker = await WsClient.open(url, "worker1");
  clients.push(worker);
  await worker.initialize();
  const tools = ((await worker.request("tools/list")).result.tools as Array<{ name: string }>).map((t) => t.name);
  const slowLong = tools.find((n) => n.startsWith("slow") && n.endsWith(LONG))!;
  const flakyLong = tools.find((n) => n.startsWith("flaky") && n.endsWith(LONG))!;
  assert.ok(slowLong && flakyLong, `tools: ${tools.join(", ")}`);

  // 1. Pool exhaustion: one call holds slow's only lease for 20 s.
  const held = worker.request("tools/call", { name: slowLong, arguments: { duration: 20, steps: 1 } });
  // 2. Open breaker: two calls to flaky time out (threshold 2).
  const other = await WsClient.open(url, "worker2");
  clients.push(other);
  await other.initialize();
  for (let i = 0; i < 2; i++) {
    const r = await other.request("tools/call", { name: flakyLong, arguments: { duration: 5, steps: 1 } });
    assert.equal(r.error?.data?.error, "upstream_timeout", JSON.stringify(r));
  }
  // 3. Rate limited: bot9 may send one request per hour.
  assert.equal((await cli("rate-limit", "set", "user:bot9", "1", "3600000")).code, 0);
  const bot = await WsClient.open(url, "bot9");
  clients.push(bot);
  await bot.initialize().catch(() => {});
  const refused = await bot.request("tools/list");
  assert.equal(refused.error?.data?.error, "rate_limit_exceeded");

  const trace = await cli("trace", "bot9");
  assert.match(trace.out, /rate_limited\s+session_id=\S+ key=user:bot9 retry_after=\d+/);
  assert.match(trace.out, /error\s+transport=websocket code=rate_limit_exceeded/);

  const r = await cli("doctor");
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /\[FAIL\] pool: slow usage 100% > 90% \(in use 1 of 1\+0/);
  assert.match(r.out, /fix: mcp-gateway config set pool\.size 200/);
  assert.match(r.out, /\[FAIL\] circuit breakers: upstream flaky#0 open since /);
  assert.match(r.out, /fix: mcp-gateway breakers reset flaky#0/);
  assert.match(r.out, /\[WARN\] rate limiting: rate-limited now: user:bot9/);
  assert.match(r.out, /fix: mcp-gateway rate-limit reset user:bot9/);

  // The same trouble in the metrics.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^gateway_upstream_circuit_breaker_state\{target="flaky#0"\} 0$/m);
  assert.match(metrics, /^gateway_circuit_breaker_transitions_total\{kind="upstream",target="flaky#0",to="open"\} 1$/m);
  assert.match(metrics, /^gateway_pool_upstream_usage_ratio\{upstream="slow"\} 1$/m);
  assert.match(metrics, /^gateway_rate_limited_total\{transport="websocket"\} [1-9]/m);

  // --json carries the same findings for scripts.
  const json = await cli("doctor", "--json");
  const parsed = JSON.parse(json.out);
  assert.equal(parsed.ok, false);
  assert.deepEqual(parsed.findings.filter((f: { status: string }) => f.status === "fail" || f.status === "warn").map((f: { check: string }) => f.check).sort(), ["circuit breakers", "pool", "rate limiting"]);

  // The printed fixes work: run them and the findings clear.
  for (const fix of ["config set pool.size 200", "breakers reset flaky#0", "rate-limit reset user:bot9"]) {
    const f = await cli(...fix.split(" "));
    assert.equal(f.code, 0, `${fix}: ${f.out}`);
  }
  const findings = await diagnose(new AdminClient({ url, token: "admin-token" }));
  const bad = findings.filter((f) => f.status === "warn" || f.status === "fail");
  assert.deepEqual(bad, [], JSON.stringify(bad, null, 2));
  void held;
});

test("old connections, a 1006 spike and a reconnect loop are diagnosed", async () => {
  const old = await WsClient.open(url, "ancient");
  clients.push(old);
  await old.initialize();
  (gateway.registry.byClient("ancient")[0] as { createdAt: number }).createdAt = Date.now() - 30 * 3_600_000;
  for (let i = 0; i < 5; i++) {
    const c = await WsClient.open(url, "looper");
    const gone = new Promise<void>((resolve) => gateway.registry.onEnd((s) => s.clientId === "looper" && resolve()));
    c.ws.terminate();
    await gone;
  }
  const r = await cli("doctor");
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /\[WARN\] connection age: .*1 connection\(s\) older than 24 h\n\s+fix: mcp-gateway gc --hours 24/);
  assert.match(r.out, /\[WARN\] 1006 closes: 5 abnormal closes/);
  assert.match(r.out, /fix: mcp-gateway connections 1006 --hours 24/);
  assert.match(r.out, /\[WARN\] connection patterns: rapid_reconnect .*looper/);
  assert.match(r.out, /fix: mcp-gateway trace looper/);
  const gc = await cli("gc", "--hours", "24");
  assert.match(gc.out, /^closed\s+1$/m);
  assert.doesNotMatch((await cli("doctor")).out, /\[WARN\] connection age/);
});

test("a client that stops acknowledging is diagnosed as lagging", async () => {
  const lagger = await startGateway(validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, backpressure: { lag_threshold: 300 }, upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }] }));
  // The gateway's envelope subprotocol: sequence numbers and acks (docs/protocol.md).
  const ws = new WebSocket(`${lagger.url.replace("http", "ws")}/mcp/ws?client_id=lagger`, "mcp-gateway.v1");
  try {
    const frames: Array<{ type: string; seq?: number }> = [];
    let waiter: (() => void) | undefined;
    ws.on("message", (d) => {
      frames.push(JSON.parse(d.toString()));
      waiter?.();
    });
    const next = (pred: (f: { type: string; seq?: number }) => boolean) =>
      new Promise<{ type: string; seq?: number }>((resolve) => {
        const check = () => {
          const f = frames.find(pred);
          if (f) resolve(f);
          else waiter = check;
        };
        check();
      });
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "message", message: { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } } }));
    const first = await next((f) => f.type === "message");
    ws.send(JSON.stringify({ type: "ack", seq: first.seq })); // opt in to ack-based flow control ...
    ws.send(JSON.stringify({ type: "message", message: { jsonrpc: "2.0", id: 2, method: "ping" } }));
    await next((f) => f.type === "message" && f.seq === first.seq! + 1); // ... then never ack again
    let lag = 0;
    for (let i = 0; i < 100 && lag <= 300; i++) {
      await new Promise((r) => setTimeout(r, 50)); // lag is time passing: poll, bounded (5 s)
      lag = (await (await fetch(`${lagger.url}/mcp/stats`)).json()).max_message_lag_ms;
    }
    assert.ok(lag > 300, `lag ${lag}`);
    const lines: string[] = [];
    const code = await runCli(["doctor"], { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: lagger.url });
    const out = lines.join("\n");
    assert.equal(code, 1, out);
    assert.match(out, /\[WARN\] message lag: largest lag \d+ ms > 300 ms \(lagger: 1 unacknowledged\)/);
    assert.match(out, /fix: mcp-gateway client lagger/);
    const metrics = await (await fetch(`${lagger.url}/metrics`)).text();
    assert.match(metrics, /^gateway_message_lag_seconds 0\.[3-9]|^gateway_message_lag_seconds [1-9]/m);
  } finally {
    ws.terminate();
    await lagger.gateway.close();
  }
});

test("an upstream that is down is diagnosed", async () => {
  const broken = await startGateway(
    validateConfig({
      server: { port: 0 },
      logging: { dir: "", stdout: false },
      upstreams: [
        { name: "good", transport: "stdio", command: process.execPath, args: [everything, "stdio"] },
        { name: "broken", transport: "stdio", command: process.execPath, args: ["-e", "process.exit(3)"] },
      ],
    }),
  );
  try {
    const lines: string[] = [];
    const code = await runCli(["doctor"], { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: broken.url });
    const out = lines.join("\n");
    assert.equal(code, 1, out);
    assert.match(out, /\[FAIL\] upstreams: broken down \(0\/1 ready/);
    assert.match(out, /fix: mcp-gateway pool restart/);
  } finally {
    await broken.gateway.close();
  }
});

test("an unreachable gateway: exit 2 and the restart command", async () => {
  const lines: string[] = [];
  const code = await runCli(["doctor", "--url", "http://127.0.0.1:1"], { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, {});
  assert.equal(code, 2);
  assert.match(lines.join("\n"), /not reachable.*\n.*fix: systemctl restart mcp-gateway/);
});
