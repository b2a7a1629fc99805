// The CLI checks its input: every bad argument gets a clear message and a non-zero exit (never a
// silent default, never a stack trace); `reset` asks first on a terminal; colour only on a
// terminal and never with NO_COLOR; the console keeps variables and reads through promises.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestGateway, everythingUpstream } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import { runCli } from "../../src/cli/program.js";
import type { CliIo } from "../../src/cli/context.js";
import { evaluate, consoleContext } from "../../src/cli/console.js";
import { consoleApi } from "../../src/cli/console-api.js";
import { AdminClient } from "../../src/cli/admin-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()] }));
});
after(() => gateway?.close());

async function cli(args: string[], io: Partial<CliIo> = {}, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => void out.push(s), err: (s) => void err.push(s), ...io }, { MCP_GATEWAY_URL: url, ...env });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

test("bad arguments: a clear message naming the problem, exit 1, nothing changed", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["logging", "set", "debug", "maybe"], /debug: expected on or off .*"maybe"/],
    [["breakers", "reset", "nosuch"], /no breaker named "nosuch" \(known: all, everything.*websocket/],
    [["config", "set", "no.such.key", "5"], /no\.such\.key: unknown key/],
    [["rate-limit", "bogus"], /unknown command "bogus" \(stats, check, set, reset\)/],
    [["rate-limit", "check", "user:x", "many"], /limit must be a positive integer, got "many"/],
    [["rate-limit", "set", "user:x", "0"], /limit must be a positive integer/],
    [["cleanup", "--max-idle-seconds", "soon"], /--max-idle-seconds: not a non-negative number: soon/],
    [["start", "--port", "abc"], /--port <n>' argument 'abc' is invalid\. not a port number/],
    [["transport", "bogus"], /unknown command 'bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}\n${r.out}\n${r.err}`);
    assert.match(r.err, message, args.join(" "));
    assert.doesNotMatch(r.err, /\n\s+at /, `${args.join(" ")}: no stack trace`);
  }
  assert.equal(gateway.config.current.debug, false);
  // The good spellings still work.
  assert.equal((await cli(["logging", "set", "debug", "off"])).code, 0);
  assert.equal((await cli(["rate-limit"])).code, 0);
  assert.equal((await cli(["breakers"])).code, 0);
});

test("start --port abc in a real process: one line on stderr, exit 1, no stack trace", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "start", "--port", "abc"], { cwd: root, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /not a port number/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test("reset asks on a terminal: anything but yes does nothing; --yes skips the question; piped runs go ahead", async () => {
  const questions: string[] = [];
  const no = await cli(["reset"], { isTTY: true, ask: async (q) => (questions.push(q), "no") });
  assert.equal(no.code, 1);
  assert.match(no.err, /not confirmed, nothing was done/);
  assert.match(questions[0]!, /This closes \d+ connection\(s\) and \d+ session\(s\) .* Type "yes"/);
  const yes = await cli(["reset"], { isTTY: true, ask: async () => "yes" });
  assert.equal(yes.code, 0, yes.err);
  assert.match(yes.out, /^closed\s+\d+/m);
  let asked = false;
  assert.equal((await cli(["reset", "--yes"], { isTTY: true, ask: async () => ((asked = true), "no") })).code, 0);
  assert.equal((await cli(["reset"])).code, 0);
  assert.equal(asked, false);
});

test("colour on a terminal only: none when piped, none with NO_COLOR, none in --json", async () => {
  const ESC = /\u001b\[/;
  assert.match((await cli(["breakers"], { isTTY: true })).out, ESC);
  assert.doesNotMatch((await cli(["breakers"], { isTTY: true }, { NO_COLOR: "1" })).out, ESC);
  assert.doesNotMatch((await cli(["breakers"])).out, ESC);
  assert.doesNotMatch((await cli(["breakers", "--json"], { isTTY: true })).out, ESC);
  // The doctor (a few dozen requests) says it is working on a terminal, in colour; never when piped.
  const tty = await cli(["doctor"], { isTTY: true });
  assert.match(tty.err, /walking the decision tree against/);
  assert.match(tty.out, /\u001b\[32m\[ok\]/);
  const piped = await cli(["doctor"]);
  assert.doesNotMatch(piped.err, /walking/);
  assert.doesNotMatch(piped.out, ESC);
});

test("console: variables live between lines; promises are read through (Gateway.status().status)", async () => {
  const ctx = consoleContext(consoleApi(new AdminClient({ url, token: "admin-token" })));
  assert.equal(await evaluate("Gateway.status().status", ctx), "ok");
  assert.equal(await evaluate("const s = Gateway.status()", ctx), undefined);
  assert.equal(await evaluate("s.status", ctx), "ok");
  await evaluate("let n = CircuitBreaker.get_states(\"mcp_gateway\").length", ctx);
  assert.equal(typeof (await evaluate("n", ctx)), "number");
  await evaluate("open = CircuitBreaker.get_states(\"mcp_gateway\").filter((b) => b.state === \"open\")", ctx);
  assert.deepEqual(await evaluate("open", ctx), []);
});

test("console piped: a failing line is reported and the next lines still run", async () => {
  // Not spawnSync: the gateway answering the console lives in this process.
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "console"], { cwd: root, env: { ...process.env, MCP_GATEWAY_URL: url } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end('const s = Gateway.status()\nNoSuchModule.call()\nthis is not javascript\ns.status\nConfig.get("pool.size")\n');
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 1, stderr);
  assert.match(stderr, /ReferenceError\) NoSuchModule is not defined/);
  assert.match(stderr, /SyntaxError/);
  assert.deepEqual(stdout.trim().split("\n"), ["ok", "100"]);
});
