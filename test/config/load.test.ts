import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, ConfigStore, loadConfig, releaseConfigSchemas, validateConfig } from "../../src/config/index.js";
import { createRequire } from "node:module";

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
  assert.equal(loadConfig({ file: f, env: { PORT: "5001" }, overrides: { port: 5002, host: "127.0.0.2" } }).server.port, 5002);
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

test("after releaseConfigSchemas (a running gateway drops zod), a runtime update loads zod again and still validates", () => {
  const store = new ConfigStore(validateConfig({}));
  releaseConfigSchemas();
  const zodFile = createRequire(import.meta.url).resolve("zod");
  assert.equal(createRequire(import.meta.url).cache[zodFile], undefined, "zod left require.cache");
  assert.equal("__zod_globalConfig" in globalThis, false, "zod's globals went with it");
  store.update("pool.size", 300);
  assert.equal(store.current.pool.size, 300);
  assert.throws(() => store.update("pool.size", "big"), /pool\.size/);
});

test("dev on a non-loopback host refuses the well-known admin token, naming admin.token and MCP_GATEWAY_ADMIN_TOKEN", () => {
  for (const host of ["0.0.0.0", "::", "192.168.1.10"]) {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { host } }),
      (e: ConfigError) => e instanceof ConfigError && /admin\.token/.test(e.message) && /MCP_GATEWAY_ADMIN_TOKEN/.test(e.message) && /--allow-dev-token/.test(e.message),
    );
  }
  assert.throws(() => validateConfig({ server: { host: "0.0.0.0" }, admin: { token: "admin-token" } }), /admin\.token/);
  // Loopback, a real secret, or the explicit opt-in start.
  for (const host of ["127.0.0.1", "localhost", "::1", "[::1]"]) assert.equal(loadConfig({ env: {}, overrides: { host } }).admin.token, "admin-token");
  assert.equal(loadConfig({ env: { MCP_GATEWAY_ADMIN_TOKEN: "s3cret-s3cret-s3cret" }, overrides: { host: "0.0.0.0" } }).server.host, "0.0.0.0");
  assert.equal(loadConfig({ env: {}, overrides: { host: "0.0.0.0", allowDevToken: true } }).admin.allow_dev_token_on_network, true);
});

test("log directory: ./logs (absolute) in dev; outside dev LOGS_DIRECTORY or /var/log/mcp-gateway, never the cwd", () => {
  const prod = { profile: "prod", admin: { token: "a-long-enough-secret-token" }, auth: { mode: "jwt", jwt: { secret: "s", audience: "https://gw.example/mcp" } } };
  assert.equal(loadConfig({ env: {} }).logging.dir, join(process.cwd(), "logs"));
  const f = file(JSON.stringify(prod));
  assert.equal(loadConfig({ file: f, env: {} }).logging.dir, "/var/log/mcp-gateway");
  assert.equal(loadConfig({ file: f, env: { LOGS_DIRECTORY: "/var/log/mcp-gateway-unit" } }).logging.dir, "/var/log/mcp-gateway-unit");
  assert.equal(loadConfig({ file: f, env: { LOGS_DIRECTORY: "/x", MCP_GATEWAY_LOG_DIR: "/y" } }).logging.dir, "/y");
  assert.equal(loadConfig({ file: file(JSON.stringify({ ...prod, logging: { dir: "/srv/logs" } })), env: { LOGS_DIRECTORY: "/x" } }).logging.dir, "/srv/logs");
  assert.equal(loadConfig({ file: f, env: { MCP_GATEWAY_LOG_DIR: "" } }).logging.dir, "");
});
