// docs/TROUBLESHOOTING.md cannot drift from the code: every command of its
// ```bash and ```js console blocks runs, in order, against a live gateway
// (real upstream, real WebSocket clients, logs in a temp dir), and each
// `# expect:` line is checked. Config snippets are validated; the error
// table is compared with the catalogue.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { CATALOGUE } from "../../src/errors/catalogue.js";
import { createLogger, type LoggingHandle } from "../../src/telemetry/logger.js";
import { channels, type ConnectionEvent } from "../../src/telemetry/channels.js";
import { runCli } from "../../src/cli/program.js";
import { parseDoc, shellWords, type DocCommand } from "../helpers/doc-commands.js";
import { WsClient } from "../helpers/ws-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "docs/TROUBLESHOOTING.md"), "utf8");
const { commands, configs } = parseDoc(doc);
const everything = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");

let gateway: Gateway;
let url: string;
let tmp: string;
let logging: LoggingHandle;
const clients: WsClient[] = [];
let sse: AbortController | undefined;

/** Waits (bounded) for `n` disconnects of a client, as events, not sleeps. */
function disconnects(clientId: string, n: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const on = (m: unknown) => {
      const e = m as ConnectionEvent;
      if (e.type === "disconnected" && e.clientId === clientId && ++seen >= n) done();
    };
    const timer = setTimeout(() => {
      channels.connection.unsubscribe(on);
      reject(new Error(`only ${seen} of ${n} disconnects of ${clientId}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      channels.connection.unsubscribe(on);
      resolve();
    };
    channels.connection.subscribe(on);
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), "gw-doc-"));
  const started = await startGateway(
    validateConfig({
      server: { port: 0 },
      logging: { dir: join(tmp, "logs"), stdout: false },
      upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }],
      // OpenTelemetry on without a collector (the convention's histograms on /metrics): the guide's OTLP section reads its counters.
      telemetry: { mcp_metrics: true },
    }),
  );
  gateway = started.gateway;
  url = started.url;
  logging = createLogger(gateway.config);

  // user123: a healthy WebSocket client with one successful call and one error.
  const user = await WsClient.open(url, "user123");
  clients.push(user);
  await user.initialize();
  const tools = (await user.request("tools/list")).result.tools as Array<{ name: string }>;
  const echo = tools.find((t) => /echo$/.test(t.name))!.name;
  assert.ok((await user.request("tools/call", { name: echo, arguments: { message: "hi" } })).result);
  assert.ok((await user.request("tools/call", { name: "no_such_tool", arguments: {} })).error);

  // bot123: rate limited (limit lowered to 2 per hour through the admin API, so it stays limited).
  const set = await fetch(`${url}/mcp/admin/rate-limit/set`, { method: "POST", headers: { authorization: "Bearer admin-token" }, body: JSON.stringify({ key: "user:bot123", limit: 2, window: 3_600_000 }) });
  assert.ok(set.status === 200 || set.status === 501, `rate-limit set: ${set.status}`);
  const bot = await WsClient.open(url, "bot123");
  clients.push(bot);
  await bot.initialize();
  for (let i = 0; i < 4; i++) await bot.request("tools/list");

  // flaky1: five connections that vanish without a close frame (1006): a rapid_reconnect loop.
  const gone = disconnects("flaky1", 5);
  for (let i = 0; i < 5; i++) (await WsClient.open(url, "flaky1")).ws.terminate();
  await gone;

  // sse1: an HTTP+SSE client kept open.
  sse = new AbortController();
  const res = await fetch(`${url}/mcp/sse?client_id=sse1`, { signal: sse.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  await reader.read();
});

after(async () => {
  sse?.abort();
  for (const c of clients) c.ws.terminate();
  await gateway?.close();
  logging?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function run(cmd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", cmd], { env, timeout: 20_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

async function execute(c: DocCommand): Promise<{ code: number; out: string }> {
  const env = { ...process.env, MCP_GATEWAY_URL: url, MCP_GATEWAY_ADMIN_TOKEN: "admin-token" };
  const buffer: string[] = [];
  const io = { out: (s: string) => void buffer.push(s), err: (s: string) => void buffer.push(s) };
  if (c.kind === "console") {
    const code = await runCli(["console", "--eval", c.command], io, env);
    return { code, out: buffer.join("\n") };
  }
  const cmd = c.command
    .replaceAll("http://localhost:4000", url)
    .replace(/(^|[\s'"|])logs\//g, `$1${join(tmp, "logs")}/`)
    .replaceAll("tail -f", "tail -n 1000");
  if (/^mcp-gateway\s/.test(cmd) && !/[|;&><]/.test(cmd)) {
    const code = await runCli(shellWords(cmd).slice(1), io, env);
    return { code, out: buffer.join("\n") };
  }
  const prelude = `mcp-gateway() { node --import tsx ${JSON.stringify(join(root, "src/cli/main.ts"))} "$@"; }\n`;
  return run(prelude + cmd, env);
}

test("the guide has commands to run", () => {
  // Every command below needs these: no 501 is tolerated.
  assert.ok(gateway.resilience && gateway.rateLimiter, "resilience and rate limiting are installed");
  assert.ok(commands.filter((c) => c.kind === "bash").length > 40);
  assert.ok(commands.filter((c) => c.kind === "console").length > 30);
  for (const curl of ["curl http://localhost:4000/health/gateway", "curl http://localhost:4000/mcp/health/client/user123", "curl http://localhost:4000/mcp/stats", "curl -X POST http://localhost:4000/mcp/admin/cleanup -H \"Authorization: Bearer admin-token\"", "curl http://localhost:4000/health", "curl -X POST http://localhost:4000/mcp/admin/reset -H \"Authorization: Bearer admin-token\""]) {
    assert.ok(commands.some((c) => c.command === curl), `the guide's curl line is missing: ${curl}`);
  }
});

test("every command of docs/TROUBLESHOOTING.md works as documented", async (t) => {
  for (const c of commands) {
    const name = `line ${c.line} [${c.section}] ${c.kind === "console" ? "console> " : "$ "}${c.command}`;
    if (c.skip) {
      await t.test(name, { skip: c.skip }, () => {});
      continue;
    }
    await t.test(name, async () => {
      const { code, out } = await execute(c);
      const problems: string[] = [];
      if (code !== c.exit) problems.push(`exit ${code}, expected ${c.exit}`);
      for (const e of c.expects) {
        const ok = typeof e === "string" ? out.includes(e) : e.test(out);
        if (!ok) problems.push(`missing ${e}`);
      }
      assert.deepEqual(problems, [], `${name}\n--- output ---\n${out.slice(0, 3000)}`);
    });
  }
});

test("config snippets are valid gateway config", () => {
  assert.ok(configs.length >= 4);
  for (const block of configs) {
    assert.doesNotThrow(() => validateConfig(YAML.parse(block.yaml)), `config block at line ${block.line}`);
  }
});

test("the error table matches the catalogue", () => {
  const rows = [...doc.matchAll(/^\| (\w+) \| (\d{3}) \| (-\d+) \| (\d{4}) \|/gm)];
  assert.ok(rows.length >= 10);
  for (const [, code, http, jsonrpc, close] of rows) {
    const entry = CATALOGUE[code as keyof typeof CATALOGUE];
    assert.ok(entry, `${code} is not in the catalogue`);
    assert.deepEqual([entry.http, entry.jsonrpc, entry.close], [Number(http), Number(jsonrpc), Number(close)], code);
  }
  for (const code of ["pool_timeout", "rate_limit_exceeded", "circuit_open", "transport_unavailable", "authentication_failed"]) assert.ok(rows.some((r) => r[1] === code), `the guide's ${code} is missing from the table`);
});

test("metric names in the guide are exported", async () => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const exported = new Set([...text.matchAll(/^# HELP (\w+)/gm)].map((m) => m[1]));
  const named = new Set([...doc.matchAll(/`(gateway_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(count|sum|bucket)$/, "")));
  for (const name of named) assert.ok(exported.has(name), `${name} is named in the guide but not exported`);
});
