/**
 * Flap damping with a replica that dies about every second: the fixture
 * test/fixtures/flaky-server.ts runs as two stdio replicas; one is stable,
 * the other exits 700 ms after each initialize.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { startTestGateway } from "../helpers/gateway.js";
import { channels, type FailoverEvent, type UpstreamEvent } from "../../src/telemetry/channels.js";
import { clientsOwnedBy, connectClient, record, resilienceOf } from "./resilience-helpers.js";

test("a flapping replica is held down with a growing hold, its restarts back off, and the oscillation is reported", async () => {
  const roleFile = join(tmpdir(), `flaky-role-${process.pid}-${Date.now()}`);
  const flips = record<FailoverEvent>(channels.failover.name);
  const upstreamEvents = record<UpstreamEvent>(channels.upstream.name);
  const { gateway, url } = await startTestGateway({
    // A long hold-down: on a loaded machine respawns are slow, and the hold must outlast the checks.
    routing: { flap_limit: 2, flap_window: 30_000, flap_hold_down: 60_000, health_check_interval: 0 },
    upstreams: [
      {
        name: "flappy",
        transport: "stdio",
        command: process.execPath,
        args: ["--import", "tsx", "test/fixtures/flaky-server.ts", "--role-file", roleFile, "--exit-after", "500"],
        replicas: 2,
      },
    ],
  });
  try {
    const flapping = await flips.waitFor((e) => e.type === "flapping" && e.upstream === "flappy", 25_000, "a flapping report");
    const flaky = flapping.target;
    const stable = flaky === "flappy#0" ? "flappy#1" : "flappy#0";
    assert.equal(flapping.hold_down_ms, 60_000);
    assert.ok((flapping.failovers ?? 0) > 2);

    // Reported (the guide's check oscillation).
    const report = resilienceOf(gateway).checkOscillation();
    const entry = report.find((r) => r.target === flaky);
    assert.ok(entry?.held_until, JSON.stringify(report));
    assert.equal(entry!.hold_down_ms, 60_000);

    // Its restarts back off (it never stays up long enough to reset the backoff).
    const delays = upstreamEvents.events.filter((e) => e.type === "restarting" && e.replica === flaky).map((e) => Number(/in (\d+) ms/.exec(e.detail ?? "")?.[1]));
    assert.ok(delays.length >= 2, `restart delays ${delays}`);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! > delays[i - 1]!, `growing: ${delays}`);

    // While held, even when the flaky child is up again, its clients stay on the stable replica.
    const [clientId] = clientsOwnedBy(gateway, "flappy", flaky, 1);
    const c = await connectClient(url, clientId!);
    try {
      const mark = upstreamEvents.events.length;
      await upstreamEvents.waitFor((e) => e.type === "initialized" && e.replica === flaky, 20_000, "the flaky replica up again", mark);
      assert.ok(resilienceOf(gateway).core.damper.isHeld(flaky), "still within the hold-down");
      for (let i = 0; i < 3; i++) {
        const r = await c.callTool({ name: "whoami", arguments: {} });
        assert.match(JSON.stringify(r.content), /stable/, "routed away from the held replica");
      }
    } finally {
      await c.close();
    }
    const dist = resilienceOf(gateway).distribution();
    assert.equal(dist.find((d) => d.replica === stable)?.state, "ready");
    assert.ok(dist.find((d) => d.replica === stable)!.clients >= 1);
  } finally {
    flips.close();
    upstreamEvents.close();
    await gateway.close();
    rmSync(roleFile, { force: true });
  }
});
