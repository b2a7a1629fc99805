/**
 * Failover with real child processes: server-everything over stdio with two
 * replicas, a bounded load of echo calls from clients spread over both, and
 * a SIGKILL of one replica in the middle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { BreakerEvent } from "../../src/upstream/circuit-breaker.js";
import type { CallEvent, FailoverEvent } from "../../src/telemetry/channels.js";
import { channels } from "../../src/telemetry/channels.js";
import { clientsOwnedBy, connectClient, errorCode, pidOf, record, resilienceOf } from "./resilience-helpers.js";

const CALL_TIMEOUT = 10_000;

test("SIGKILL of a replica under load: calls move to the other replica, none hangs, the breaker opens then closes via half_open", async () => {
  const { gateway, url } = await startTestGateway({
    routing: { request_timeout: CALL_TIMEOUT, health_check_interval: 500 },
    circuit_breaker: { failure_threshold: 3, reset_timeout: 500, half_open_successes: 1 },
    upstreams: [everythingUpstream("everything", { replicas: 2 })],
  });
  const breakers = record<BreakerEvent>(channels.breaker.name);
  const calls = record<CallEvent>(channels.call.name);
  const failovers = record<FailoverEvent>(channels.failover.name);
  const clients: Client[] = [];
  try {
    const victim = "everything#0";
    const survivor = "everything#1";
    const ids = [...clientsOwnedBy(gateway, "everything", victim, 3, "k"), ...clientsOwnedBy(gateway, "everything", survivor, 2, "k")];
    for (const id of ids) clients.push(await connectClient(url, id));
    const dist = resilienceOf(gateway).distribution();
    assert.deepEqual(dist.map((d) => [d.replica, d.vnodes, d.state]), [[victim, 150, "ready"], [survivor, 150, "ready"]]);

    // Bounded load: each client calls echo back to back, at most 300 calls or until stopped.
    let stop = false;
    const outcomes: Array<{ ok: boolean; code?: string; message?: string }> = [];
    const loops = clients.map(async (c, n) => {
      for (let i = 0; i < 300 && !stop; i++) {
        try {
          await c.callTool({ name: "echo", arguments: { message: `c${n}-${i}` } }, undefined, { timeout: CALL_TIMEOUT + 2000 });
          outcomes.push({ ok: true });
        } catch (err) {
          outcomes.push({ ok: false, code: errorCode(err), message: (err as Error).message });
        }
      }
    });
    await calls.waitFor((e) => e.replica === victim && e.ok, 10_000, "a call served by the victim");
    assert.ok(calls.events.filter((e) => e.replica === victim).length > 0);
    const pid = pidOf(gateway, victim);
    assert.ok(pid, "victim has a child process");
    const killedAt = calls.events.length;
    process.kill(pid!, "SIGKILL");

    const opened = await breakers.waitFor((e) => e.target === victim && e.to === "open", 10_000, "victim breaker open");
    assert.equal(opened.kind, "upstream");
    // Calls of the victim's clients are served by the survivor meanwhile.
    await calls.waitFor((e) => e.replica === survivor && e.ok && ids.slice(0, 3).includes(e.clientId), 10_000, "a victim client served by the survivor", killedAt);
    // The child is respawned; the breaker probes it (half_open) and closes.
    await breakers.waitFor((e) => e.target === victim && e.from === "open" && e.to === "half_open", 15_000, "victim half_open");
    await breakers.waitFor((e) => e.target === victim && e.from === "half_open" && e.to === "closed", 15_000, "victim closed again");
    const fresh = pidOf(gateway, victim);
    assert.ok(fresh && fresh !== pid, "a new child serves the victim replica");
    // Its clients come back to it (affinity restored).
    const back = calls.events.length;
    await calls.waitFor((e) => e.replica === victim && e.ok, 10_000, "victim serving again", back);
    assert.ok(failovers.events.some((e) => e.type === "failover" && e.target === victim));

    stop = true;
    await Promise.all(loops);
    const failed = outcomes.filter((o) => !o.ok);
    if (process.env.DEBUG_RESILIENCE) console.log({ calls: outcomes.length, breakers: breakers.events, failovers: failovers.events.length, perReplica: calls.events.reduce<Record<string, number>>((a, e) => ((a[e.replica ?? "?"] = (a[e.replica ?? "?"] ?? 0) + 1), a), {}) });
    // No call hung: an SDK-side timeout would mean the gateway never answered.
    assert.equal(failed.filter((o) => /timed out/i.test(o.message ?? "")).length, 0, JSON.stringify(failed.slice(0, 5)));
    // echo is readOnlyHint: calls caught on the dead child were retried on the survivor.
    assert.deepEqual(failed, [], "no failed call");
    assert.ok(outcomes.length > 20, `load ran: ${outcomes.length} calls`);
    const states = resilienceOf(gateway).breakerStates();
    assert.equal(states.find((b) => b.target === victim)?.state, "closed");
    assert.deepEqual(states.filter((b) => b.kind === "transport").map((b) => b.state), ["closed", "closed", "closed"]);
  } finally {
    breakers.close();
    calls.close();
    failovers.close();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await gateway.close();
  }
});
