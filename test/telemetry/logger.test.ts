// The log files: grep-able text lines (timestamp first, component, client_id=),
// error.log holding warn and above, rotation by size, the JSON format, and the
// debug switches applied at runtime through the ConfigStore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validateConfig, ConfigStore } from "../../src/config/index.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { channels, log } from "../../src/telemetry/channels.js";
import { formatText } from "../../src/telemetry/log-format.js";
import { RotatingFile } from "../../src/telemetry/rotating-file.js";

function setup(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "gw-log-"));
  const store = new ConfigStore(validateConfig({ ...extra, logging: { dir, stdout: false, ...(extra.logging as object) } }));
  const logging = createLogger(store);
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
  return { dir, store, logging, read, done: () => { logging.close(); rmSync(dir, { recursive: true, force: true }); } };
}

test("text lines start with a timestamp, name the component and carry client_id=", () => {
  const t = setup();
  try {
    channels.connection.publish({ type: "connected", clientId: "user123", sessionId: "s1", transport: "websocket" });
    channels.connection.publish({ type: "disconnected", clientId: "user123", sessionId: "s1", transport: "websocket", closeCode: 1006, reason: "" });
    channels.error.publish({ type: "request", code: "pool_timeout", message: "Connection pool exhausted", clientId: "user123", transport: "websocket" });
    log("info", "MCP.Routing", "routed", { clientId: "other" });
    const all = t.read("gateway.log").trim().split("\n");
    assert.equal(all.length, 4);
    for (const line of all) assert.match(line, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \[(info|warn|error|debug)\] MCP\.\w+ /);
    assert.match(all[0]!, /\[info\] MCP\.Transport connected client_id=user123 transport=websocket session=s1$/);
    assert.match(all[1]!, /\[warn\] MCP\.Transport disconnected abnormally \(close 1006\) client_id=user123 .*close_code=1006/);
    assert.match(all[2]!, /\[warn\] MCP\.Gateway error pool_timeout: Connection pool exhausted client_id=user123 code=pool_timeout/);
    const errors = t.read("error.log").trim().split("\n");
    assert.equal(errors.length, 2, "warn and above only");
    assert.ok(errors.every((l) => !l.includes("[info]")));
  } finally {
    t.done();
  }
});

test("runtime switches: log_connections off, log_messages on, debug on", () => {
  const t = setup();
  try {
    t.store.update("log_connections", false);
    channels.connection.publish({ type: "connected", clientId: "quiet", sessionId: "s2", transport: "websocket" });
    channels.message.publish({ direction: "inbound", clientId: "quiet", sessionId: "s2", transport: "websocket", method: "tools/list", size: 42 });
    assert.doesNotMatch(t.read("gateway.log"), /connected client_id=quiet|message inbound/);
    t.store.update("log_messages", true);
    channels.message.publish({ direction: "inbound", clientId: "quiet", sessionId: "s2", transport: "websocket", method: "tools/list", size: 42 });
    assert.match(t.read("gateway.log"), /MCP\.Transport message inbound client_id=quiet .*method=tools\/list size=42/);
    log("debug", "MCP.Gateway", "a debug line");
    assert.doesNotMatch(t.read("gateway.log"), /a debug line/);
    t.store.update("debug", true);
    log("debug", "MCP.Gateway", "a debug line");
    assert.match(t.read("gateway.log"), /\[debug\] MCP\.Gateway a debug line/);
    assert.match(t.read("gateway.log"), /config changed .*key=debug previous=false value=true/);
  } finally {
    t.done();
  }
});

test("breaker, pool and routing events are logged by component", () => {
  const t = setup();
  try {
    const extra = channels as unknown as Record<string, { publish(m: unknown): void }>;
    extra.breaker!.publish({ target: "everything#0", kind: "upstream", from: "closed", to: "open", failures: 5 });
    extra.pool!.publish({ type: "timeout", upstream: "everything", in_use: 150, waiting: 3, detail: "waited 5000 ms" });
    extra.failover!.publish({ type: "flapping", upstream: "everything", target: "everything#1", failovers: 5 });
    const errors = t.read("error.log");
    assert.match(errors, /\[warn\] MCP\.CircuitBreaker breaker everything#0 closed -> open target=everything#0 kind=upstream failures=5/);
    assert.match(errors, /\[warn\] MCP\.Pool pool timeout: waited 5000 ms upstream=everything in_use=150 waiting=3/);
    assert.match(errors, /\[warn\] MCP\.Routing flapping upstream=everything target=everything#1/);
  } finally {
    t.done();
  }
});

test("json format for log shippers", () => {
  const t = setup({ logging: { format: "json" } });
  try {
    channels.connection.publish({ type: "connected", clientId: "j1", sessionId: "s3", transport: "http_sse" });
    const rec = JSON.parse(t.read("gateway.log").trim());
    assert.deepEqual([rec.component, rec.client_id, rec.msg, rec.level], ["MCP.Transport", "j1", "connected", 30]);
  } finally {
    t.done();
  }
});

test("files rotate at max_size keeping max_files", () => {
  const dir = mkdtempSync(join(tmpdir(), "gw-rot-"));
  try {
    const f = new RotatingFile(join(dir, "gateway.log"), 100, 2);
    for (let i = 0; i < 10; i++) f.write(`line ${i} ${"x".repeat(40)}\n`);
    f.close();
    assert.ok(existsSync(join(dir, "gateway.log.1")));
    assert.ok(existsSync(join(dir, "gateway.log.2")));
    assert.ok(!existsSync(join(dir, "gateway.log.3")));
    assert.ok(readFileSync(join(dir, "gateway.log"), "utf8").length <= 100);
    assert.match(readFileSync(join(dir, "gateway.log"), "utf8"), /line 9/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("formatText quotes values with spaces and escapes newlines", () => {
  const line = formatText({ level: 50, time: Date.UTC(2024, 0, 15, 10, 23, 45, 7), component: "MCP.Upstream", msg: "boom\nstack", client_id: "u 1", upstream: "everything" });
  assert.equal(line, '2024-01-15 10:23:45.007 [error] MCP.Upstream boom\\nstack client_id="u 1" upstream=everything\n');
});
