// Secrets are redacted by what they are, from one list (src/config/redact.ts), wherever config is
// shown: the admin API, the CLI on top of it, the log files. Timeouts and counts whose names merely
// contain "headers" stay visible. Outside dev, a client's health page and the dashboard need a token.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestGateway, everythingUpstream } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import { runCli } from "../../src/cli/program.js";
import { redactConfig, redactText, validateConfig } from "../../src/config/index.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { log } from "../../src/telemetry/channels.js";

const CREDENTIAL = "upstream-credential";

describe("secrets in the config", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({
      upstreams: [
        everythingUpstream("everything", { env: { API_KEY: "sk-live-123" } }),
        // Never reachable (port 9 on loopback refuses): only its config matters here.
        { name: "remote", transport: "streamable_http", url: "http://127.0.0.1:9/mcp", headers: { Authorization: `Bearer ${CREDENTIAL}`, "X-Trace": "visible" } },
      ],
      // No endpoint: OpenTelemetry stays off; only how the config is shown matters here.
      telemetry: { otlp: { headers: { "x-honeycomb-team": "collector-key-9" } } },
    }));
  });
  after(() => gateway?.close());

  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    const lines: string[] = [];
    const code = await runCli([...args, "--json"], { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: url });
    return { code, out: lines.join("\n") };
  }

  test("config get upstreams.1.headers hides the credential header, keeps the others", async () => {
    const r = await cli("config", "get", "upstreams.1.headers");
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, new RegExp(CREDENTIAL));
    assert.deepEqual(JSON.parse(r.out).value, { Authorization: "[redacted]", "X-Trace": "visible" });
  });

  test("GET /mcp/admin/config?path=upstreams and the whole config hide headers and stdio env; timeouts stay numbers", async () => {
    for (const path of ["upstreams", "upstreams.1", "upstreams.0.env", "telemetry", "telemetry.otlp.headers", "telemetry.otlp.headers.x-honeycomb-team", ""]) {
      const res = await fetch(`${url}/mcp/admin/config${path ? `?path=${path}` : ""}`, { headers: { authorization: "Bearer admin-token" } });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.doesNotMatch(text, new RegExp(`${CREDENTIAL}|sk-live-123|admin-token|collector-key-9`), path);
    }
    const all = (await (await fetch(`${url}/mcp/admin/config`, { headers: { authorization: "Bearer admin-token" } })).json()) as { value: any };
    assert.equal(all.value.server.headers_timeout, 10_000);
    assert.equal(all.value.server.max_headers_count, 100);
    assert.equal(all.value.admin.token, "[redacted]");
    assert.equal(all.value.upstreams[0].env.API_KEY, "[redacted]");
    assert.equal(all.value.cluster.key_prefix, "mcp-gateway");
    assert.deepEqual(all.value.telemetry.otlp.headers, { "x-honeycomb-team": "[redacted]" });
  });
});

test("redactConfig: URL userinfo, token/secret/password/key fields, env values, credential headers", () => {
  const c = validateConfig({
    cluster: { redis_url: "redis://default:hunter2@127.0.0.1:6379/0" },
    auth: { mode: "jwt", jwt: { secret: "jwt-secret", jwks_url: "https://user:pw@idp.example/jwks" }, api_keys: [{ sha256: "a".repeat(64), client_id: "c" }] },
  });
  const shown = JSON.stringify(redactConfig(c));
  for (const s of ["hunter2", "jwt-secret", "a".repeat(64), ":pw@"]) assert.ok(!shown.includes(s), s);
  assert.match(shown, /redis:\/\/default:\[redacted\]@127\.0\.0\.1:6379\/0/);
  assert.equal(redactConfig("redis://:pw@h:1", "cluster.redis_url"), "redis://:[redacted]@h:1");
  assert.equal(redactConfig({ Cookie: "a=b", Accept: "x", "X-Custom": "Bearer abcdefgh" }, "upstreams.3.headers") instanceof Object, true);
  assert.deepEqual(redactConfig({ Cookie: "a=b", Accept: "x", "X-Custom": "Bearer abcdefgh" }, "upstreams.3.headers"), { Cookie: "[redacted]", Accept: "x", "X-Custom": "[redacted]" });
  assert.equal(redactConfig(12, "server.headers_timeout"), 12);
  assert.equal(redactText("connect to redis://u:p@h failed; sent Bearer abcdef123"), "connect to redis://u:[redacted]@h failed; sent Bearer [redacted]");
});

test("redactConfig: every value of telemetry.otlp.headers is hidden (vendor header names say nothing), its keys stay", () => {
  const c = validateConfig({ telemetry: { otlp: { endpoint: "http://127.0.0.1:4318", headers: { "x-honeycomb-team": "hc-key-1", "DD-API-KEY": "dd-key-2", authorization: "Basic b3RlbDpwdw==" } } } });
  const shown = JSON.stringify(redactConfig(c));
  for (const s of ["hc-key-1", "dd-key-2", "b3RlbDpwdw=="]) assert.ok(!shown.includes(s), s);
  const hidden = { "x-honeycomb-team": "[redacted]", "DD-API-KEY": "[redacted]", authorization: "[redacted]" };
  assert.deepEqual((redactConfig(c) as { telemetry: { otlp: { headers: unknown } } }).telemetry.otlp.headers, hidden);
  assert.deepEqual(redactConfig(c.telemetry.otlp.headers, "telemetry.otlp.headers"), hidden);
  assert.deepEqual((redactConfig(c.telemetry.otlp, "telemetry.otlp") as { headers: unknown }).headers, hidden);
  assert.equal(redactConfig("hc-key-1", "telemetry.otlp.headers.x-honeycomb-team"), "[redacted]");
  // An upstream's headers keep the by-name rule: a non-credential header stays readable.
  assert.deepEqual(redactConfig({ "x-honeycomb-team": "v" }, "upstreams.0.headers"), { "x-honeycomb-team": "v" });
});

test("redactConfig: a stdio upstream's secret command-line flags are hidden, other arguments shown", () => {
  const args = ["server.js", "--api-key", "sk-live-1", "--token=tok-2", "--password", "pw-3", "--verbose", "--port", "8080", "https://u:pw-4@h/x", "--auth", "--debug"];
  const shown = redactConfig({ command: "node", args }, "upstreams.0") as { args: string[] };
  assert.deepEqual(shown.args, ["server.js", "--api-key", "[redacted]", "--token=[redacted]", "--password", "[redacted]", "--verbose", "--port", "8080", "https://u:[redacted]@h/x", "--auth", "--debug"]);
  const whole = JSON.stringify(redactConfig(validateConfig({ upstreams: [{ name: "a", transport: "stdio", command: "node", args }] })));
  for (const s of ["sk-live-1", "tok-2", "pw-3", "pw-4"]) assert.ok(!whole.includes(s), s);
});

test("log files: a URL's password or a Bearer token in a log line is redacted", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-redact-"));
  const logging = createLogger(validateConfig({ logging: { dir, stdout: false } }));
  try {
    log("warn", "MCP.Cluster", "redis redis://default:hunter2@10.0.0.5:6379 unreachable", { url: "redis://default:hunter2@10.0.0.5:6379", token: "abc" });
    log("warn", "MCP.Upstream", "upstream answered 401 to Authorization: Bearer upstream-credential");
  } finally {
    logging.close();
  }
  const text = readFileSync(join(dir, "gateway.log"), "utf8");
  rmSync(dir, { recursive: true, force: true });
  assert.match(text, /redis:\/\/default:\[redacted\]@10\.0\.0\.5:6379 unreachable/);
  assert.doesNotMatch(text, /hunter2|upstream-credential|token=abc/);
});

describe("outside dev, a client's health page and the console's data need the admin or ops token", () => {
  let gateway: Gateway;
  let url: string;
  const admin = "admin-secret-0123456789";
  const ops = "ops-readonly-0123456789";
  before(async () => {
    ({ gateway, url } = await startTestGateway({ profile: "test", admin: { token: admin, ops_token: ops } }));
  });
  after(() => gateway?.close());

  // The console's page and bundle carry no data (the same bytes for everyone): public, so a browser can
  // load it and ask for the token; everything it shows comes from the stream below.
  test("/dashboard and its bundle load without a token; they hold no figures", async () => {
    const page = await fetch(url + "/dashboard");
    assert.equal(page.status, 200);
    const html = await page.text();
    const bundle = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(bundle, "the page names its bundle");
    assert.equal((await fetch(url + bundle)).status, 200);
    assert.doesNotMatch(html, /admin-secret|ops-readonly|sessions?":|upstreams?":/);
  });

  for (const path of ["/mcp/health/client/someone", "/dashboard/stream"]) {
    test(path, async () => {
      const anon = await fetch(url + path);
      assert.equal(anon.status, 401);
      assert.equal(((await anon.json()) as { error: string }).error, "admin_unauthorized");
      assert.equal((await fetch(url + path, { headers: { authorization: "Bearer wrong" } })).status, 401);
      for (const token of [admin, ops]) {
        const ac = new AbortController();
        const res = await fetch(url + path, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
        // The client is unknown (404) but the request got past the token check; the pages answer 200.
        assert.equal(res.status, path.startsWith("/mcp/health") ? 404 : 200);
        ac.abort();
      }
      // The ops token is read-only: it does not open the admin API.
      assert.equal((await fetch(`${url}/mcp/admin/status`, { headers: { authorization: `Bearer ${ops}` } })).status, 401);
    });
  }
});
