/**
 * A single replica respawning: calls that arrive while its stdio child is
 * being restarted wait for it (bounded by pool.checkout_timeout and their own
 * deadline) instead of failing at once with upstream_unavailable; when the
 * upstream cannot come back they fail with a clear error after that wait.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVERYTHING, everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import type { StdioUpstreamTransport } from "../../src/upstream/transports/stdio.js";
import { connectClient, errorCode } from "./resilience-helpers.js";

function childPid(gateway: Gateway, upstream: string): number {
  const pid = (gateway.manager.groups.get(upstream)!.replicas[0]!.connection?.transport as StdioUpstreamTransport | undefined)?.pid;
  assert.ok(pid, "the replica has a running child");
  return pid;
}

/** Bounded poll for a replica state change (the exit is noticed asynchronously). */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not reached: ${what}`);
}

const settle = <T>(p: Promise<T>) => p.then((value) => ({ ok: true as const, value, at: Date.now() }), (error: unknown) => ({ ok: false as const, error, at: Date.now() }));

test("replicas: 1, child SIGKILLed: calls issued at once all succeed once it is back", async (t) => {
  const { gateway, url } = await startTestGateway({ pool: { checkout_timeout: 5000 }, upstreams: [everythingUpstream("e", { replicas: 1 })] });
  const c = await connectClient(url, "respawn");
  try {
    await c.callTool({ name: "echo", arguments: { message: "warm" } });
    const killedAt = Date.now();
    process.kill(childPid(gateway, "e"), "SIGKILL");
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => settle(c.callTool({ name: "echo", arguments: { message: `m${i}` } }, undefined, { timeout: 15_000 }))));
    for (const [i, r] of results.entries()) {
      assert.equal(r.ok, true, `call ${i}: ${r.ok ? "" : `${errorCode(r.error)} ${(r.error as Error).message}`}`);
      assert.match(JSON.stringify(r.ok && r.value.content), new RegExp(`m${i}`));
    }
    t.diagnostic(`kill -> first success: ${Math.min(...results.map((r) => r.at)) - killedAt} ms`);

    // Once the exit is noticed (replica down, respawn scheduled), a new call waits in the relay.
    const replica = gateway.manager.groups.get("e")!.replicas[0]!;
    process.kill(childPid(gateway, "e"), "SIGKILL");
    await until(() => replica.state !== "ready", "replica noticed the exit");
    const downAt = Date.now();
    const [a, b] = await Promise.all([settle(c.callTool({ name: "echo", arguments: { message: "after-down-a" } })), settle(c.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }))]);
    assert.equal(a.ok, true, a.ok ? "" : String(a.error));
    assert.equal(b.ok, true, b.ok ? "" : String(b.error));
    assert.match(JSON.stringify(b.ok && b.value.content), /5/);
    t.diagnostic(`replica down -> first success: ${Math.min(a.at, b.at) - downAt} ms`);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("an upstream that cannot come back: the waiting call fails after checkout_timeout with upstream_unavailable", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "respawn-"));
  const flag = join(dir, "broken");
  // Starts once; every respawn after the flag exists exits at once.
  const script = `test -e '${flag}' && exit 1; exec '${process.execPath}' '${EVERYTHING}' stdio`;
  const { gateway, url } = await startTestGateway({
    pool: { checkout_timeout: 800 },
    routing: { request_timeout: 20_000 },
    upstreams: [{ name: "gone", transport: "stdio", command: "/bin/sh", args: ["-c", script], replicas: 1 }],
  });
  const c = await connectClient(url, "stranded");
  try {
    await c.callTool({ name: "echo", arguments: { message: "warm" } });
    const replica = gateway.manager.groups.get("gone")!.replicas[0]!;
    writeFileSync(flag, "");
    process.kill(childPid(gateway, "gone"), "SIGKILL");
    await until(() => replica.state !== "ready", "replica noticed the exit");
    const started = Date.now();
    const waiting = settle(c.callTool({ name: "echo", arguments: { message: "x" } }, undefined, { timeout: 15_000 }));
    // Meanwhile, a waiting call the client cancels leaves the gateway at once.
    const session = gateway.registry.byClient("stranded")[0]!;
    const abort = new AbortController();
    const cancelled = settle(c.callTool({ name: "echo", arguments: { message: "cancel me" } }, undefined, { timeout: 15_000, signal: abort.signal }));
    await until(() => (session.inflight?.size ?? 0) === 2, "both calls wait in the gateway");
    abort.abort("changed my mind");
    assert.equal((await cancelled).ok, false);
    await until(() => (session.inflight?.size ?? 0) === 1, "the cancelled call left the gateway");

    const r = await waiting;
    const elapsed = r.at - started;
    assert.equal(r.ok, false, "no replica to serve it");
    assert.equal(errorCode(!r.ok && r.error), "upstream_unavailable", String(!r.ok && r.error));
    assert.match(String(!r.ok && (r.error as Error).message), /no replica became ready within \d+ ms/);
    assert.ok(elapsed < 20_000, `failed after the checkout wait, not at the request deadline (${elapsed} ms)`);
    t.diagnostic(`failed after ${elapsed} ms (checkout_timeout 800)`);
  } finally {
    await c.close();
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
