// The operator CLI against a live gateway: every command answers, --json is
// JSON, tables render, the console evaluates the guide's lines (via --eval
// and piped stdin in a real process), and failures map to exit codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { buildProgram, runCli } from "../../src/cli/program.js";
import { render, table } from "../../src/cli/render.js";
import { evaluate, consoleContext } from "../../src/cli/console.js";
import { consoleApi } from "../../src/cli/console-api.js";
import { AdminClient, resolveTarget } from "../../src/cli/admin-client.js";
import { WsClient } from "../helpers/ws-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const everything = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
let gateway: Gateway;
let url: string;
let ws: WsClient;

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: url });
  return { code, out: lines.join("\n") };
}

before(async () => {
  ({ gateway, url } = await startGateway(validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }] })));
  ws = await WsClient.open(url, "user123");
  await ws.initialize();
});
after(async () => {
  ws?.ws.terminate();
  await gateway?.close();
});

test("every operator command of the issue exists", () => {
  const program = buildProgram();
  const names = program.commands.map((c) => c.name());
  for (const n of ["start", "status", "stats", "client", "trace", "errors", "breakers", "pool", "cleanup", "gc", "connections", "rate-limit", "hash", "transport", "config", "memory", "queues", "console", "doctor", "logging", "reset"]) assert.ok(names.includes(n), n);
  const sub = (n: string) => program.commands.find((c) => c.name() === n)!.commands.map((c) => c.name());
  assert.deepEqual(sub("breakers"), ["list", "reset"]);
  assert.deepEqual(sub("pool"), ["health", "clear", "restart"]);
  assert.deepEqual(sub("rate-limit"), ["stats", "check", "set", "reset"]);
  assert.deepEqual(sub("transport"), ["health", "restart"]);
  assert.deepEqual(sub("config"), ["get", "set"]);
});

test("each command answers from the live gateway (human and --json)", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["status"], /^status\s+ok$/m],
    [["stats"], /^by_transport\.websocket\s+1$/m],
    [["client", "user123"], /^transport\s+websocket$/m],
    [["trace", "user123"], /connected\s+transport=websocket/],
    [["errors", "user123", "--transport", "websocket"], /^client_id\s+user123$/m],
    [["breakers"], /^TARGET\s+KIND\s+STATE/m],
    [["breakers", "reset", "websocket"], /^reset\s+websocket$/m],
    [["pool"], /EXHAUSTION_RATIO/],
    [["pool", "health"], /^totals\.size\s+\d+/m],
    [["cleanup", "--max-idle-seconds", "3600"], /^closed\s+0$/m],
    [["gc", "--hours", "24"], /^closed\s+0$/m],
    [["connections"], /^connection_distribution\.0-1h\s+1$/m],
    [["connections", "old", "--hours", "1"], /^count\s+0$/m],
    [["connections", "1006"], /^last_hours\s+24$/m],
    [["rate-limit", "check", "user:user123"], /^allowed\s+true$/m],
    [["rate-limit", "set", "user:user123", "150"], /^limit\s+150$/m],
    [["rate-limit", "stats"], /^default_limit\s+100$/m],
    [["rate-limit", "reset", "user:user123"], /^reset\s+true$/m],
    [["hash"], /VNODES/],
    [["oscillation"], /^oscillation/m],
    [["transport", "health", "websocket"], /^accepting\s+true$/m],
    [["config", "get", "pool.size"], /^value\s+100$/m],
    [["config", "set", "pool.overflow", "60"], /^value\s+60$/m],
    [["logging"], /^log_connections\s+true$/m],
    [["memory"], /^process\.rss_mb\s+[\d.]+$/m],
    [["queues"], /^top_by_queue_length:$/m],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.out}`);
    assert.match(r.out, re, `${args.join(" ")}:\n${r.out}`);
  }
  const json = await cli("--json", "stats");
  assert.equal(JSON.parse(json.out).by_transport.websocket, 1);
  const after = await cli("client", "user123", "--json");
  assert.equal(JSON.parse(after.out).client_id, "user123");
});

test("errors: 400 -> exit 1 with the gateway's message; unknown client; unreachable -> exit 2", async () => {
  const bad = await cli("config", "set", "pool.size", "0");
  assert.equal(bad.code, 1);
  assert.match(bad.out, /config_invalid: .*pool\.size.*\(HTTP 400\)/s);
  const unknown = await cli("client", "ghost");
  assert.equal(unknown.code, 1);
  assert.match(unknown.out, /client_not_found: Unknown client: ghost/);
  const wrongToken = await cli("--token", "nope", "status");
  assert.match(wrongToken.out, /admin_unauthorized/);
  const down = await runCli(["status", "--url", "http://127.0.0.1:1"], { out: () => {}, err: () => {} }, {});
  assert.equal(down, 2);
});

test("console: the guide's lines evaluate to the admin API's answers", async () => {
  const ctx = consoleContext(consoleApi(new AdminClient({ url, token: "admin-token" })));
  assert.equal(((await evaluate("Gateway.status()", ctx)) as { status: string }).status, "ok");
  assert.equal(((await evaluate('iex> Gateway.get_client_info("user123")', ctx)) as { client_id: string }).client_id, "user123");
  assert.ok(Array.isArray(await evaluate('CircuitBreaker.get_states("mcp_gateway")', ctx)));
  assert.deepEqual(await evaluate('CircuitBreaker.reset("mcp_gateway", ":websocket")', ctx), { reset: ["websocket"] });
  assert.equal(((await evaluate('RateLimiter.check_rate("user:user123", 100, 60000)', ctx)) as { limit: number }).limit, 100);
  assert.equal(((await evaluate("Gateway.cleanup_idle_connections({max_idle_seconds: 3600})", ctx)) as { max_idle_seconds: number }).max_idle_seconds, 3600);
  assert.equal(await evaluate('Config.get("pool.size")', ctx), 100);
  assert.ok(Array.isArray(await evaluate('Gateway.trace_client("user123")', ctx)));
  assert.equal(((await evaluate('Gateway.HealthCheck.check_transport_health("websocket")', ctx)) as { transport: string }).transport, "websocket");
  assert.equal(await evaluate("// a comment", ctx), undefined);
  await assert.rejects(evaluate('Gateway.get_client_info("ghost")', ctx), /client_not_found/);
  const r = await cli("console", "--eval", 'Config.set("pool.size", 0)');
  assert.equal(r.code, 1);
  assert.match(r.out, /\*\* \(config_invalid\) .*pool\.size/s);
});

test("console in a real process: lines piped on stdin", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "console"], { env: { ...process.env, MCP_GATEWAY_URL: url }, cwd: root });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  child.stdin.end('Gateway.get_connection_stats()\nConsistentHash.get_distribution()\n');
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  assert.equal(code, 0, out);
  assert.match(out, /"by_transport"/);
  assert.match(out, /"vnodes"/);
});

test("rendering: tables and nested objects", () => {
  assert.equal(table([{ a: 1, b: "x" }, { a: 22, c: null }]), "A   B  C\n1   x  -\n22  -  -");
  assert.equal(render({ s: "ok", n: { x: 1 }, rows: [{ k: "v" }] }), "s    ok\nn.x  1\n\nrows:\nK\nv");
  assert.deepEqual(resolveTarget({}, { MCP_GATEWAY_URL: "http://h:1/", MCP_GATEWAY_ADMIN_TOKEN: "t" }), { url: "http://h:1", token: "t" });
  assert.deepEqual(resolveTarget({}, {}), { url: "http://127.0.0.1:4000", token: "admin-token" });
});
