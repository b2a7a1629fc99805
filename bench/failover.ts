/**
 * Failover time: from the SIGKILL of the replica serving a client to the
 * first successful call served by another replica.
 *
 *   node --import tsx bench/failover.ts [--runs 5] [--replicas 2] [--clients 1] [--json FILE]
 *
 * In-process gateway (src/, through tsx) in front of server-everything over
 * stdio with `--replicas` children. `--clients` SDK clients (Streamable HTTP)
 * whose ring owner is replica #0 call `echo` back to back. Each run kills the
 * child serving them (SIGKILL), measures, then waits until the replica is
 * back and its breaker closed before the next run. Two figures per run:
 * - `gateway_ms`: kill -> the gateway has the first successful answer from
 *   another replica to one of the clients the killed replica was serving
 *   (the `call` diagnostics channel);
 * - `client_ms`:  kill -> a client holds that answer (what a user sees).
 * Goal: under 250 ms. Bounded: at most 20 s per run, 5,000 calls per client.
 * Everything stays on 127.0.0.1.
 */
import diagnostics_channel from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { validateConfig } from "../src/config/index.js";
import { startGateway } from "../src/gateway.js";
import { channels, type CallEvent } from "../src/telemetry/channels.js";
import type { BreakerEvent } from "../src/upstream/circuit-breaker.js";
import type { Resilience } from "../src/upstream/resilience-service.js";
import type { StdioUpstreamTransport } from "../src/upstream/transports/stdio.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    replicas: { type: "string", default: "2" },
    clients: { type: "string", default: "1" },
    json: { type: "string" },
  },
});
const RUNS = Math.max(1, Math.min(50, Number(values.runs)));
const REPLICAS = Math.max(2, Math.min(8, Number(values.replicas)));
const CLIENTS = Math.max(1, Math.min(32, Number(values.clients)));
const GOAL_MS = 250;
const RUN_LIMIT_MS = 20_000;

const require = createRequire(import.meta.url);
const EVERYTHING = require.resolve("@modelcontextprotocol/server-everything/dist/index.js");

const calls: Array<CallEvent & { at: number }> = [];
const onCall = (m: unknown) => calls.push({ ...(m as CallEvent), at: performance.now() });
const breakerEvents: Array<BreakerEvent & { at: number }> = [];
const onBreaker = (m: unknown) => breakerEvents.push({ ...(m as BreakerEvent), at: performance.now() });
diagnostics_channel.subscribe(channels.call.name, onCall);
diagnostics_channel.subscribe(channels.breaker.name, onBreaker);

const { gateway, url } = await startGateway(
  validateConfig({
    profile: "dev",
    server: { port: 0, host: "127.0.0.1", max_connections_per_client: 100_000 },
    logging: { dir: "", stdout: false, level: "warn" },
    rate_limiting: { enabled: false },
    routing: { request_timeout: 10_000, health_check_interval: 1000 },
    circuit_breaker: { failure_threshold: 3, reset_timeout: 1000 },
    upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [EVERYTHING, "stdio"], replicas: REPLICAS }],
  }),
);
const resilience = gateway.resilience as Resilience;

function pidOf(replicaId: string): number | undefined {
  for (const r of gateway.manager.replicas()) if (r.spec.id === replicaId) return (r.connection?.transport as StdioUpstreamTransport | undefined)?.pid;
  return undefined;
}

async function until(cond: () => boolean, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Clients whose ring owner is replica #0.
const ring = resilience.core.router.groups.get("everything")!.ring;
const ids: string[] = [];
for (let i = 0; ids.length < CLIENTS && i < 100_000; i++) if (ring.get(`bench-${i}`) === "everything#0") ids.push(`bench-${i}`);
const clients: Client[] = [];
for (const id of ids) {
  const c = new Client({ name: "failover-bench", version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${id}`)));
  clients.push(c);
}

interface Run {
  run: number;
  victim: string;
  gateway_ms: number;
  client_ms: number;
  failed_calls: number;
  calls: number;
}
const runs: Run[] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    await until(() => resilience.breakerStates().every((b) => b.state === "closed") && gateway.manager.groups.get("everything")!.ready().length === REPLICAS, RUN_LIMIT_MS, "all replicas ready");
    let stop = false;
    let failed = 0;
    let done = 0;
    const clientDone: number[] = [];
    const loops = clients.map(async (c) => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          await c.callTool({ name: "echo", arguments: { message: `r${run}-${i}` } }, undefined, { timeout: 10_000 });
          clientDone.push(performance.now());
        } catch {
          failed++;
        }
        done++;
      }
    });
    const mark = calls.length;
    await until(() => calls.length - mark >= 20 * CLIENTS, RUN_LIMIT_MS, "warm-up calls");
    const victim = calls[calls.length - 1]!.replica!;
    // The clients the victim was serving: only their calls measure its failover.
    const lastReplica = new Map<string, string>();
    for (const e of calls.slice(mark)) lastReplica.set(e.clientId, e.replica ?? "");
    const served = new Set([...lastReplica].filter(([, r]) => r === victim).map(([c]) => c));
    const pid = pidOf(victim)!;
    const killedAt = performance.now();
    process.kill(pid, "SIGKILL");
    const movedOn = (e: CallEvent & { at: number }) => e.at >= killedAt && e.ok && e.replica !== victim && served.has(e.clientId);
    await until(() => calls.some(movedOn), RUN_LIMIT_MS, "a call served elsewhere");
    const first = calls.find(movedOn)!;
    await until(() => clientDone.some((t) => t >= first.at), RUN_LIMIT_MS, "the client got it");
    const seen = clientDone.find((t) => t >= first.at)!;
    stop = true;
    await Promise.all(loops);
    runs.push({ run, victim, gateway_ms: round(first.at - killedAt), client_ms: round(seen - killedAt), failed_calls: failed, calls: done });
    console.log(`run ${run}: killed ${victim} -> first success elsewhere after ${round(first.at - killedAt)} ms (client ${round(seen - killedAt)} ms), ${failed} failed of ${done}`);
  }
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await gateway.close();
  diagnostics_channel.unsubscribe(channels.call.name, onCall);
  diagnostics_channel.unsubscribe(channels.breaker.name, onBreaker);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! };
}
const summary = {
  scenario: "failover",
  replicas: REPLICAS,
  clients: CLIENTS,
  runs: runs.length,
  gateway_ms: stats(runs.map((r) => r.gateway_ms)),
  client_ms: stats(runs.map((r) => r.client_ms)),
  failed_calls: runs.reduce((n, r) => n + r.failed_calls, 0),
  goal_ms: GOAL_MS,
  pass: runs.every((r) => r.client_ms < GOAL_MS),
  raw: runs,
};
console.log(JSON.stringify({ ...summary, raw: undefined }, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify(summary, null, 2));
process.exitCode = summary.pass ? 0 : 1;
