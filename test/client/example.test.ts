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
