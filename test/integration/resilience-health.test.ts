/** Health checks: a replica that is alive but no longer answers is found by pings and restarted. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway } from "../helpers/gateway.js";
import { channels, type FailoverEvent } from "../../src/telemetry/channels.js";
import type { BreakerEvent } from "../../src/upstream/circuit-breaker.js";
import { clientsOwnedBy, connectClient, pidOf, record } from "./resilience-helpers.js";

test("a hung replica fails its pings: it is skipped (clients fail over), then restarted and back in rotation", async () => {
  const flips = record<FailoverEvent>(channels.failover.name);
  const breakers = record<BreakerEvent>(channels.breaker.name);
  const { gateway, url } = await startTestGateway({
    routing: { health_check_interval: 200, failover_threshold: 2 },
    upstreams: [{ name: "h", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/flaky-server.ts"], replicas: 2 }],
  });
  const [id] = clientsOwnedBy(gateway, "h", "h#0", 1);
  const c = await connectClient(url, id!);
  try {
    const pid = pidOf(gateway, "h#0");
    const deaf = await c.callTool({ name: "deafen", arguments: {} });
    assert.match(JSON.stringify(deaf.content), /deaf now/);
    // Two failed pings (failover_threshold 2): skipped, and its clients go to h#1.
    await flips.waitFor((e) => e.type === "failover" && e.target === "h#0", 15_000, "h#0 skipped after failed pings");
    const who = await c.callTool({ name: "whoami", arguments: {} }, undefined, { timeout: 5000 });
    assert.notEqual(JSON.parse((who.content as Array<{ text: string }>)[0]!.text).pid, pid, "served by the other replica");
    // Alive but deaf: restarted with a fresh child, and back in rotation.
    await flips.waitFor((e) => e.type === "failback" && e.target === "h#0", 15_000, "h#0 back");
    assert.notEqual(pidOf(gateway, "h#0"), pid);
    assert.ok(breakers.events.every((e) => e.target !== "h#1" || e.to !== "open"), "the healthy replica was never blamed");
  } finally {
    flips.close();
    breakers.close();
    await c.close();
    await gateway.close();
  }
});
