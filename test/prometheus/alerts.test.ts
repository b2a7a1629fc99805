// The alert rules are valid (promtool check rules), fire on fixtures
// (promtool test rules), and only name metrics the gateway really exports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startGateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";

const dir = fileURLToPath(new URL("../../prometheus/", import.meta.url));
const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
const missing = promtool.error ? "promtool not installed (apt-get install -y prometheus): skipping the promtool checks" : false;
if (missing) console.log(`# ${missing}`);

test("promtool check rules prometheus/alerts.yml", { skip: missing }, () => {
  const r = spawnSync("promtool", ["check", "rules", "alerts.yml"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: \d+ rules found/);
});

test("promtool test rules: each alert fires on its fixture", { skip: missing }, () => {
  const r = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const rules = readFileSync(`${dir}alerts.yml`, "utf8");
  const fixtures = readFileSync(`${dir}alerts.test.yml`, "utf8");
  for (const [, name] of rules.matchAll(/- alert: (\w+)/g)) assert.match(fixtures, new RegExp(`alertname: ${name}\\b`), `no fixture fires ${name}`);
  for (const name of ["GatewayPoolExhaustion", "GatewayHighErrorRate", "GatewayCircuitOpen"]) assert.match(rules, new RegExp(`alert: ${name}`), `the guide's ${name} is missing`);
});

test("promtool check config prometheus/prometheus.yml", { skip: missing }, () => {
  const r = spawnSync("promtool", ["check", "config", "prometheus.yml"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("every gateway_* metric named in alerts.yml is exported by /metrics", async () => {
  const { gateway, url } = await startGateway(validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false } }));
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# HELP (\w+)/gm)].map((m) => m[1]));
    const rules = readFileSync(`${dir}alerts.yml`, "utf8");
    const used = new Set([...rules.matchAll(/\b(gateway_\w+?)(?:\{|\[|\s|\))/g)].map((m) => m[1]!));
    assert.ok(used.size >= 8, `found ${[...used]}`);
    for (const name of used) assert.ok(exported.has(name), `${name} is used by an alert but not exported`);
  } finally {
    await gateway.close();
  }
});
