// `mcp-gateway start` in a real process: a config with no upstreams starts but says, at once, why
// every MCP request will fail; the dev profile on a non-loopback host refuses the well-known admin
// token with a message naming admin.token and MCP_GATEWAY_ADMIN_TOKEN (exit 2, nothing bound).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWarnings } from "../../src/cli/start.js";
import { validateConfig } from "../../src/config/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const main = join(root, "src/cli/main.ts");

test("no upstreams: a warning at start naming the fix", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-start-"));
  const file = join(dir, "config.yaml");
  writeFileSync(file, "server:\n  port: 0\nlogging:\n  dir: \"\"\n");
  const child = spawn(process.execPath, ["--import", "tsx", main, "start", "-c", file], { cwd: root, env: { ...process.env, MCP_GATEWAY_CONFIG: "" } });
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (/listening on/.test(out)) resolve();
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    assert.match(out, /\[warn\] MCP\.Gateway no upstreams configured: every MCP client will find no tools and \/health\/gateway answers 503; add an `upstreams:` list/);
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dev profile on 0.0.0.0 with the dev token: refused at start, exit 2, the keys named", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", main, "start", "--host", "0.0.0.0", "--port", "0"], { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, MCP_GATEWAY_ADMIN_TOKEN: "", MCP_GATEWAY_CONFIG: "" } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /admin\.token: the dev profile's well-known token "admin-token" would be served on server\.host 0\.0\.0\.0/);
  assert.match(r.stderr, /MCP_GATEWAY_ADMIN_TOKEN/);
  assert.match(r.stderr, /--allow-dev-token/);
});

test("the explicit opt-in starts, but never silently", () => {
  const warnings = startWarnings(validateConfig({ server: { host: "0.0.0.0" }, admin: { allow_dev_token_on_network: true }, upstreams: [] }));
  assert.ok(warnings.some((w) => /"admin-token" is served on 0\.0\.0\.0/.test(w)), warnings.join("\n"));
  assert.deepEqual(startWarnings(validateConfig({ upstreams: [{ name: "x", transport: "stdio", command: "x" }] })), []);
});
