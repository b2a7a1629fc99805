// The runnable example (examples/client-node.ts) against a local gateway.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "./helpers/harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway());
});
after(async () => {
  await gateway?.close();
});

test("examples/client-node.ts calls a tool through the gateway", async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/client-node.ts", url, "echo", '{"text":"from the example"}'], {
    cwd: ROOT,
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(stdout), [{ type: "text", text: "from the example" }]);
  assert.match(stderr, /open over websocket/);
});

test("examples/client-node.ts against the default upstream (server-everything): works as documented, exits 1 on a tool error", async () => {
  const { startTestGateway: startGateway, everythingUpstream } = await import("../helpers/gateway.js");
  const everything = await startGateway({ rate_limiting: { enabled: false }, upstreams: [everythingUpstream()] });
  const run = (...args: string[]) => promisify(execFile)(process.execPath, ["--import", "tsx", "examples/client-node.ts", everything.url, ...args], { cwd: ROOT, timeout: 60_000 });
  try {
    // The defaults: echo with the example's own {message}.
    const { stdout } = await run();
    assert.match(stdout, /hello from the client SDK/);
    // Arguments server-everything refuses: the tool answers isError, and the example says so with its exit code.
    await assert.rejects(run("echo", '{"text":"wrong key"}'), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? "", /tool error|failed/);
      return true;
    });
  } finally {
    await everything.gateway.close();
  }
});
