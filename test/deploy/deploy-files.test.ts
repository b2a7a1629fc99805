// The ops files: the systemd unit verifies and restarts on failure with its
// output in the journal; the NGINX config carries the guide's WebSocket
// settings and turns SSE buffering off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const unit = readFileSync(join(root, "deploy/systemd/mcp-gateway.service"), "utf8");
const nginx = readFileSync(join(root, "deploy/nginx/mcp-gateway.conf"), "utf8");

test("systemd unit: restart on failure, journal output, graceful stop", () => {
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^StandardOutput=journal$/m);
  assert.match(unit, /^SyslogIdentifier=mcp-gateway$/m);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  assert.match(unit, /^ExecStart=.*mcp-gateway\.js start$/m);
  // Logs go to LogsDirectory= (exported as LOGS_DIRECTORY, which the gateway reads), not under the working directory.
  assert.match(unit, /^LogsDirectory=mcp-gateway$/m);
  for (const line of unit.split("\n").filter((l) => l.startsWith("ReadWritePaths="))) {
    for (const p of line.slice("ReadWritePaths=".length).split(/\s+/)) assert.ok(p.startsWith("-") || !p.includes("/opt/"), `ReadWritePaths ${p} must exist at start (prefix it with -)`);
  }
  const analyze = spawnSync("systemd-analyze", ["--version"]);
  if (analyze.error) return void console.log("# skip: systemd-analyze not installed (apt-get install -y systemd): the unit is not verified");
  const dir = mkdtempSync(join(tmpdir(), "unit-"));
  try {
    copyFileSync(join(root, "deploy/systemd/mcp-gateway.service"), join(dir, "mcp-gateway.service"));
    const r = spawnSync("systemd-analyze", ["verify", join(dir, "mcp-gateway.service")], { encoding: "utf8" });
    // ExecStart names /usr/bin/node: verify checks it is executable, so run where node lives there.
    if (/\/usr\/bin\/node is not executable/.test(r.stderr)) return void console.log("# skip: /usr/bin/node missing here; systemd-analyze verify cannot check ExecStart");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
    // The check can fail: a broken copy is refused.
    writeFileSync(join(dir, "broken.service"), unit.replace("Restart=on-failure", "Restart=sometimes"));
    const broken = spawnSync("systemd-analyze", ["verify", join(dir, "broken.service")], { encoding: "utf8" });
    assert.match(broken.stderr, /restart specifier/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("nginx: the guide's WebSocket block and unbuffered SSE", () => {
  const ws = /location \/mcp\/ws \{([\s\S]*?)\n    \}/.exec(nginx)![1]!;
  for (const line of ["proxy_read_timeout 3600s;", "proxy_send_timeout 3600s;", "proxy_connect_timeout 75s;", "proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;", 'proxy_set_header Connection "upgrade";']) {
    assert.ok(ws.includes(line), line);
  }
  const sse = /location \/mcp\/sse \{([\s\S]*?)\n    \}/.exec(nginx)![1]!;
  assert.match(sse, /proxy_buffering off;/);
  assert.match(sse, /proxy_read_timeout 3600s;/);
  const mcp = /location \/mcp \{([\s\S]*?)\n    \}/.exec(nginx)![1]!;
  assert.match(mcp, /proxy_buffering off;/);
});
