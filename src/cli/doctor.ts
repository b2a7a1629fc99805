import type { Command } from "commander";
import { AdminError, type AdminClient } from "./admin-client.js";
import { clientFor, fail, type CliState } from "./context.js";
import type { BreakerInfo, PoolHealth } from "../admin/services.js";

/** The guide's alert thresholds (Gateway.Monitoring.alert_thresholds). */
export const THRESHOLDS = { pool_exhaustion: 0.9, error_rate: 0.05, connection_age_s: 86_400, message_lag_ms: 5000, heap_used_ratio: 0.85, abnormal_close_ratio: 0.2, min_errors: 5 };

/** One diagnosis: what was checked, what was seen, and the command that fixes it. */
export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail" | "skip";
  evidence: string;
  fix?: string[];
}

const pct = (r: number) => `${Math.round(r * 100)}%`;

/** GET that turns 501 (service not installed) into undefined, keeps other errors. */
async function maybe<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AdminError && (err.status === 501 || err.status === 503)) return (err.status === 503 ? (err.body as T) : undefined);
    throw err;
  }
}

/**
 * Walks the guide's decision tree and alert thresholds against a live
 * gateway: reachability and upstreams, pool usage, error rate, connection
 * age, message lag, breakers, rate-limited clients, 1006 spikes, suspicious
 * connection patterns, flapping and memory. Each finding carries its evidence
 * and the exact command that fixes it.
 */
export async function diagnose(c: AdminClient): Promise<Finding[]> {
  const out: Finding[] = [];
  const status = await c.get<any>("/mcp/admin/status");
  out.push({ check: "gateway", status: status.status === "ok" ? "ok" : "warn", evidence: `status ${status.status}, version ${status.version}, up ${status.uptime_s} s, ${status.connections.total} connections` });

  const gh = await maybe(c.get<any>("/health/gateway"));
  const down = Object.entries<any>(gh?.upstreams ?? {}).filter(([, u]) => u.status !== "ok");
  out.push(
    down.length
      ? { check: "upstreams", status: down.some(([, u]) => u.status === "down") ? "fail" : "warn", evidence: down.map(([n, u]) => `${n} ${u.status} (${u.replicas.filter((r: any) => r.state === "ready").length}/${u.replicas.length} ready${u.replicas[0]?.last_error ? `, last error: ${u.replicas[0].last_error}` : ""})`).join("; "), fix: ["mcp-gateway pool restart", `grep "MCP.Upstream" logs/gateway.log | tail -n 20`] }
      : { check: "upstreams", status: "ok", evidence: `${Object.keys(gh?.upstreams ?? {}).length} upstream(s) ok` },
  );

  const pool = await maybe(c.get<{ upstreams: PoolHealth[]; totals: Omit<PoolHealth, "upstream"> }>("/mcp/admin/pool"));
  const cfgSize = Number((await c.get<{ value: unknown }>("/mcp/admin/config", { path: "pool.size" })).value);
  if (!pool) out.push({ check: "pool", status: "skip", evidence: "pools not installed on this gateway" });
  else {
    const hot = pool.upstreams.filter((p) => p.exhaustion_ratio > THRESHOLDS.pool_exhaustion || p.waiting > 0 || p.timeouts > 0);
    out.push(
      hot.length
        ? { check: "pool", status: hot.some((p) => p.exhaustion_ratio > THRESHOLDS.pool_exhaustion) ? "fail" : "warn", evidence: hot.map((p) => `${p.upstream} usage ${pct(p.exhaustion_ratio)} > ${pct(THRESHOLDS.pool_exhaustion)} (in use ${p.in_use} of ${p.size}+${p.overflow}, ${p.waiting} waiting, ${p.timeouts} pool_timeout)`).join("; "), fix: [`mcp-gateway config set pool.size ${Math.max(200, cfgSize * 2)}`, "mcp-gateway cleanup --max-idle-seconds 60"] }
        : { check: "pool", status: "ok", evidence: `usage ${pct(pool.totals.exhaustion_ratio)} (threshold ${pct(THRESHOLDS.pool_exhaustion)})` },
    );
  }

  const stats = status.connections;
  out.push(
    stats.error_rate > THRESHOLDS.error_rate && stats.errors_5m >= THRESHOLDS.min_errors
      ? { check: "error rate", status: "fail", evidence: `${pct(stats.error_rate)} of requests failed in the last 5 min (${stats.errors_5m} errors) > ${pct(THRESHOLDS.error_rate)}`, fix: [`grep "MCP.Gateway" logs/error.log | grep -E "(error|failed|timeout)"`, "mcp-gateway logging set debug on"] }
      : { check: "error rate", status: "ok", evidence: `${pct(stats.error_rate)} over 5 min, ${stats.errors_5m} errors (threshold ${pct(THRESHOLDS.error_rate)} with at least ${THRESHOLDS.min_errors} errors)` },
  );

  const old = await c.get<any>("/mcp/admin/connections/old", { hours: 24 });
  out.push(
    stats.avg_connection_age > THRESHOLDS.connection_age_s || old.count > 0
      ? { check: "connection age", status: "warn", evidence: `average age ${stats.avg_connection_age} s; ${old.count} connection(s) older than 24 h`, fix: ["mcp-gateway gc --hours 24"] }
      : { check: "connection age", status: "ok", evidence: `average age ${stats.avg_connection_age} s (threshold ${THRESHOLDS.connection_age_s} s)` },
  );

  // The guide's 5 s, or the gateway's own backpressure.lag_threshold when set differently.
  const lagLimit = Number((await c.get<{ value: unknown }>("/mcp/admin/config", { path: "backpressure.lag_threshold" })).value) || THRESHOLDS.message_lag_ms;
  const queues = await c.get<any>("/mcp/admin/queues");
  const lagging = (queues.top_by_queue_length as any[]).filter((r) => r.lag_ms > lagLimit).sort((a, b) => b.lag_ms - a.lag_ms);
  out.push(
    stats.max_message_lag_ms > lagLimit
      ? { check: "message lag", status: "warn", evidence: `largest lag ${stats.max_message_lag_ms} ms > ${lagLimit} ms${lagging.length ? ` (${lagging.slice(0, 5).map((r) => `${r.client_id}: ${r.pending_acks} unacknowledged`).join(", ")})` : ""}`, fix: ["mcp-gateway queues", ...lagging.slice(0, 3).map((r) => `mcp-gateway client ${r.client_id}`)] }
      : { check: "message lag", status: "ok", evidence: `largest lag ${stats.max_message_lag_ms} ms (threshold ${lagLimit} ms)` },
  );

  const breakers = (await maybe(c.get<{ breakers: BreakerInfo[] }>("/mcp/admin/breakers")))?.breakers;
  if (!breakers) out.push({ check: "circuit breakers", status: "skip", evidence: "breakers not installed on this gateway" });
  else {
    const open = breakers.filter((b) => b.state === "open");
    const half = breakers.filter((b) => b.state === "half_open");
    if (open.length) out.push({ check: "circuit breakers", status: "fail", evidence: open.map((b) => `${b.kind} ${b.target} open since ${b.opened_at} (${b.failures} failures)`).join("; "), fix: [...open.filter((b) => b.kind === "transport").map((b) => `mcp-gateway transport health ${b.target}`), ...open.map((b) => `mcp-gateway breakers reset ${b.target}`)] });
    else if (half.length) out.push({ check: "circuit breakers", status: "warn", evidence: `half-open (probing): ${half.map((b) => b.target).join(", ")}`, fix: ["mcp-gateway breakers"] });
    else out.push({ check: "circuit breakers", status: "ok", evidence: `${breakers.length} breaker(s) closed` });
  }

  const rl = await maybe(c.get<any>("/mcp/admin/rate-limit/stats"));
  if (!rl) out.push({ check: "rate limiting", status: "skip", evidence: "rate limiter not installed on this gateway" });
  else {
    const recent: Array<{ key: string; rejected: number }> = rl.most_limited?.length ? rl.most_limited : (rl.rate_limited_clients ?? []).map((r: any) => ({ key: `user:${r.client_id}`, rejected: r.rejected }));
    // Rejected at some point is history; still over the limit now is the problem.
    const blocked: Array<{ key: string; rejected: number; retry_after: number | null; limit: number }> = [];
    for (const r of recent.slice(0, 10)) {
      const v = await c.get<any>("/mcp/admin/rate-limit/check", { key: r.key });
      if (!v.allowed) blocked.push({ ...r, retry_after: v.retry_after, limit: v.limit });
    }
    out.push(
      blocked.length
        ? { check: "rate limiting", status: "warn", evidence: `rate-limited now: ${blocked.slice(0, 5).map((l) => `${l.key} (${l.rejected} rejected, limit ${l.limit}, retry after ${l.retry_after ?? "?"} s)`).join(", ")}`, fix: blocked.slice(0, 3).flatMap((l) => [`mcp-gateway rate-limit reset ${l.key}`, `mcp-gateway rate-limit set ${l.key} ${Math.max(rl.default_limit, l.limit) * 2}`]) }
        : { check: "rate limiting", status: "ok", evidence: `no client over its limit now (default ${rl.default_limit} per ${rl.window_ms} ms)${recent.length ? `; recently limited: ${recent.slice(0, 3).map((r) => r.key).join(", ")}` : ""}` },
    );
  }

  const a1006 = await c.get<any>("/mcp/admin/analyze-1006", { hours: 24 });
  out.push(
    a1006.spike
      ? { check: "1006 closes", status: "warn", evidence: `${a1006.count} abnormal closes (${pct(a1006.ratio)} of ${a1006.total_closes}) in 24 h${a1006.hints.length ? `; ${a1006.hints[0]}` : ""}`, fix: ["mcp-gateway connections 1006 --hours 24", "mcp-gateway config set websocket.ping_interval 20000"] }
      : { check: "1006 closes", status: "ok", evidence: `${a1006.count} abnormal closes of ${a1006.total_closes} in 24 h` },
  );

  const analysis = await c.get<any>("/mcp/admin/connections");
  const patterns = analysis.suspicious_patterns as Array<{ pattern: string; client_ids: string[]; threshold: string }>;
  out.push(
    patterns.length
      ? { check: "connection patterns", status: "warn", evidence: patterns.map((p) => `${p.pattern} (${p.threshold}): ${p.client_ids.slice(0, 5).join(", ")}`).join("; "), fix: patterns.flatMap((p) => p.client_ids.slice(0, 2).map((id) => `mcp-gateway trace ${id}`)) }
      : { check: "connection patterns", status: "ok", evidence: "no rapid reconnects or connection hoarding" },
  );

  const osc = (await maybe(c.get<any>("/mcp/admin/oscillation")))?.oscillation as Array<{ target: string; failovers: number; held_until: string | null }> | undefined;
  const held = (osc ?? []).filter((o) => o.held_until);
  if (held.length) out.push({ check: "failover loop", status: "warn", evidence: held.map((o) => `${o.target}: ${o.failovers} failovers, held until ${o.held_until}`).join("; "), fix: ["mcp-gateway transport health websocket", "mcp-gateway config set routing.failover_threshold 10"] });

  out.push(await integrityFinding(c));

  const mem = await c.get<any>("/mcp/admin/memory");
  out.push(
    mem.heap.used_ratio > THRESHOLDS.heap_used_ratio
      ? { check: "memory", status: "warn", evidence: `heap ${pct(mem.heap.used_ratio)} of its limit (${mem.process.heap_used_mb} MB); connections hold ${mem.connections.buffered_bytes + mem.connections.replay_bytes} bytes`, fix: ["mcp-gateway memory", "mcp-gateway gc --hours 1"] }
      : { check: "memory", status: "ok", evidence: `heap ${mem.process.heap_used_mb} MB (${pct(mem.heap.used_ratio)} of limit), rss ${mem.process.rss_mb} MB` },
  );
  return out;
}

/** Tool integrity (docs/integrity.md): withheld definitions fail, drift, replica disagreement and scan findings warn. */
async function integrityFinding(c: AdminClient): Promise<Finding> {
  const s = await c.get<any>("/mcp/admin/integrity").catch((err) => (err instanceof AdminError && err.status === 404 ? undefined : Promise.reject(err)));
  if (!s) return { check: "tool integrity", status: "skip", evidence: "this gateway has no integrity layer" };
  const head = `mode ${s.mode}, scan ${s.scan}`;
  if (s.withheld.length) {
    return {
      check: "tool integrity",
      status: "fail",
      evidence: `${head}; withheld from clients: ${s.withheld.slice(0, 5).map((w: any) => `${w.upstream}/${w.name} (${w.reason}${w.renamed_from ? ` from ${w.renamed_from}` : ""})`).join(", ")}`,
      fix: s.withheld.slice(0, 3).flatMap((w: any) => [`mcp-gateway tools diff ${w.name} --upstream ${w.upstream}`, `mcp-gateway tools approve ${w.name} --upstream ${w.upstream}`]),
    };
  }
  const problems: string[] = [];
  if (s.drifted.length) problems.push(`drifted from their pins: ${s.drifted.slice(0, 5).map((d: any) => `${d.upstream}/${d.name} (${d.status})`).join(", ")}`);
  if (s.replica_disagreements.length) problems.push(`replicas disagree about ${s.replica_disagreements.slice(0, 5).map((d: any) => `${d.upstream}/${d.name}`).join(", ")}`);
  const serious = s.findings.filter((f: any) => f.severity !== "low");
  if (serious.length) problems.push(`scan findings: ${serious.slice(0, 5).map((f: any) => `${f.upstream}/${f.name} ${f.rule} (${f.severity})`).join(", ")}`);
  if (problems.length) return { check: "tool integrity", status: "warn", evidence: `${head}; ${problems.join("; ")}`, fix: ["mcp-gateway tools list", ...s.drifted.slice(0, 2).map((d: any) => `mcp-gateway tools diff ${d.name} --upstream ${d.upstream}`)] };
  return { check: "tool integrity", status: "ok", evidence: `${head}; ${s.counts.definitions} definition(s), ${s.counts.pinned} pinned, none withheld or drifted` };
}

const MARK = { ok: "[ok]  ", warn: "[WARN]", fail: "[FAIL]", skip: "[skip]" } as const;

/** `mcp-gateway doctor`: prints the findings; exit 1 when anything is wrong (warn or fail), 2 if unreachable. */
export function addDoctorCommand(program: Command, state: CliState): void {
  program
    .command("doctor")
    .description("walk the troubleshooting decision tree against the live gateway; exit 1 if anything is wrong")
    .action(async (_opts: unknown, cmd: Command) => {
      const client = clientFor(cmd, state);
      let findings: Finding[];
      try {
        findings = await diagnose(client);
      } catch (err) {
        fail(state, err, client.target.url);
        if (state.exitCode === 2) state.io.out(`[FAIL] gateway: not reachable at ${client.target.url}\n       fix: systemctl restart mcp-gateway\n       fix: journalctl -u mcp-gateway -n 100`);
        return;
      }
      const problems = findings.filter((f) => f.status === "warn" || f.status === "fail");
      if ((cmd.optsWithGlobals() as { json?: boolean }).json) {
        state.io.out(JSON.stringify({ ok: problems.length === 0, findings }, null, 2));
      } else {
        const lines = [`mcp-gateway doctor: ${client.target.url}`];
        for (const f of findings) {
          lines.push(`${MARK[f.status]} ${f.check}: ${f.evidence}`);
          for (const fix of f.fix ?? []) lines.push(`       fix: ${fix}`);
        }
        lines.push(problems.length ? `${problems.length} problem(s) found` : "no problems found");
        state.io.out(lines.join("\n"));
      }
      if (problems.length) state.exitCode = 1;
    });
}
