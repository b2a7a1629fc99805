import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, ConfigStore, loadConfig, validateConfig } from "../../src/config/index.js";

const tmp = mkdtempSync(join(tmpdir(), "gw-config-"));
function file(text: string): string {
  const p = join(tmp, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, text);
  return p;
}

test("no file: the embedded default is dev on 127.0.0.1:4000 with the demo upstream", () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.profile, "dev");
  assert.equal(c.server.host, "127.0.0.1");
  assert.equal(c.server.port, 4000);
  assert.equal(c.upstreams[0]!.name, "everything");
  assert.equal(c.admin.token, "admin-token");
  assert.equal(c.pool.size, 100);
  assert.equal(c.websocket.max_frame_size, 65536);
  assert.equal(c.http_sse.heartbeat_interval, 30000);
  assert.equal(c.rate_limiting.default_limit, 100);
  assert.ok(Object.isFrozen(c.pool));
});

test("a bad key is named in the error", () => {
  assert.throws(() => loadConfig({ file: file("pool:\n  size: -3\n"), env: {} }), (e: ConfigError) => /pool\.size/.test(e.message));
  assert.throws(() => loadConfig({ file: file("pool:\n  sise: 3\n"), env: {} }), (e: ConfigError) => /pool\.sise: unknown key/.test(e.message));
  assert.throws(() => loadConfig({ file: file("upstreams:\n  - name: x\n    transport: stdio\n"), env: {} }), (e: ConfigError) => /upstreams\.0\.command/.test(e.message));
  assert.throws(() => loadConfig({ file: file("upstreams:\n  - {name: x, transport: sse}\n"), env: {} }), /upstreams\.0\.url/);
  assert.throws(() => loadConfig({ file: file(": : :\n  - ["), env: {} }), /not valid YAML/);
});

test("PORT, MCP_GATEWAY_CONFIG and CLI overrides", () => {
  const f = file("server:\n  port: 5000\n");
  assert.equal(loadConfig({ env: { MCP_GATEWAY_CONFIG: f } }).server.port, 5000);
  assert.equal(loadConfig({ env: { MCP_GATEWAY_CONFIG: f, PORT: "5001" } }).server.port, 5001);
  assert.equal(loadConfig({ file: f, env: { PORT: "5001" }, overrides: { port: 5002, host: "0.0.0.0" } }).server.port, 5002);
});

test("profiles other than dev refuse default or missing admin tokens", () => {
  assert.throws(() => validateConfig({ profile: "prod", auth: { mode: "jwt", jwt: { secret: "s" } } }), /admin\.token: required/);
  assert.throws(() => validateConfig({ profile: "prod", admin: { token: "admin-token" }, auth: { mode: "jwt" } }), /refused outside the dev profile/);
  assert.throws(() => validateConfig({ profile: "prod", admin: { token: "a-long-enough-secret-token" } }), /auth\.mode/);
  // Issue 11 item 15: outside dev the JWT audience never follows the client's Host header.
  assert.throws(() => validateConfig({ profile: "prod", admin: { token: "a-long-enough-secret-token" }, auth: { mode: "jwt" } }), /auth\.jwt\.audience: required/);
  assert.doesNotThrow(() => validateConfig({ profile: "prod", admin: { token: "a-long-enough-secret-token" }, auth: { mode: "jwt", jwt: { audience: "https://gw.example/mcp" } } }));
  assert.doesNotThrow(() => validateConfig({ profile: "prod", admin: { token: "a-long-enough-secret-token" }, server: { public_url: "https://gw.example" }, auth: { mode: "jwt" } }));
});

test("duplicate upstream names are refused", () => {
  const u = { name: "a", transport: "stdio", command: "x" };
  assert.throws(() => validateConfig({ upstreams: [u, u] }), /duplicate upstream name/);
});

test("ConfigStore.update validates, applies and emits; static keys are refused", () => {
  const store = new ConfigStore(validateConfig({}));
  const seen: string[] = [];
  store.on("change", (c) => seen.push(`${c.path}=${c.value}`));
  store.update("pool.size", 200);
  assert.equal(store.current.pool.size, 200);
  assert.deepEqual(seen, ["pool.size=200"]);
  assert.throws(() => store.update("pool.size", "big"), /pool\.size/);
  assert.equal(store.current.pool.size, 200, "a rejected update changes nothing");
  assert.throws(() => store.update("server.port", 1), /not changeable at runtime/);
  assert.throws(() => store.update("pool.nope", 1), /unknown key/);
});
