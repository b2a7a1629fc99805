import { AdminError, type AdminClient } from "./admin-client.js";
import type { BreakerInfo, PoolHealth } from "../admin/services.js";
import { integrityFinding } from "./doctor-integrity.js";

/** The guide's alert thresholds (Gateway.Monitoring.alert_thresholds), plus the event-loop ones for "High CPU?". */
export const THRESHOLDS = { pool_exhaustion: 0.9, error_rate: 0.05, connection_age_s: 86_400, message_lag_ms: 5000, heap_used_ratio: 0.85, abnormal_close_ratio: 0.2, min_errors: 5, event_loop_delay_ms: 200, event_loop_block_ms: 1000, event_loop_utilization: 0.95 };

/** The nodes of the guide's "Troubleshooting Decision Tree" a finding hangs under. */
export type Branch = "gateway" | "connection" | "websocket" | "sse" | "performance" | "memory" | "ordering" | "cpu" | "breakers";

/** One diagnosis: what was checked, what was seen, and the command that fixes it. */
export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail" | "skip";
  evidence: string;
  fix?: string[];
  /** Where in the decision tree it was found. */
  branch: Branch;
}

/** The walk: the answers at each decision (the path taken) and every finding. */
export interface Diagnosis {
  ok: boolean;
  path: string[];
  findings: Finding[];
}

const pct = (r: number) => `${Math.round(r * 100)}%`;
const bad = (f: Finding) => f.status === "warn" || f.status === "fail";

/** GET that turns 501 (service not installed) into undefined and a 503 into its body; other errors stay. */
async function maybe<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AdminError && (err.status === 501 || err.status === 503)) return err.status === 503 ? (err.body as T) : undefined;
    throw err;
  }
}

/** Log lines to grep, in the gateway's real log directory (or the journal when it logs to stdout only). */
function logs(dir: string, file: "gateway.log" | "error.log", grep: string): string {
  return dir ? `grep ${grep} ${dir}/${file} | tail -n 20` : `journalctl -u mcp-gateway | grep ${grep} | tail -n 20`;
}

/** Pool finding evidence: the condition that fired, never "usage 0% > 90%". */
export function poolEvidence(p: PoolHealth): string {
  const usage = p.exhaustion_ratio > THRESHOLDS.pool_exhaustion ? `usage ${pct(p.exhaustion_ratio)} > ${pct(THRESHOLDS.pool_exhaustion)}` : `usage ${pct(p.exhaustion_ratio)}`;
  return `${p.upstream} ${usage} (in use ${p.in_use} of ${p.size}+${p.overflow}, ${p.waiting} waiting, ${p.timeouts} pool_timeout)`;
}

interface UpstreamConfigView {
  name: string;
  transport: string;
  url?: string;
  urls?: Array<string | { url: string }>;
}

/**
 * Walks the guide's decision tree over live data: is the gateway itself
 * well (upstreams, Redis)? a connection problem (which transport; for
 * WebSocket which close code, and whether connections die at once or after
 * an idle timeout; for SSE whether clients are reconnecting)? a performance
 * problem (pool, errors, memory and leaks, message ordering and lag, CPU)?
 * and the circuit breakers. Each finding carries its evidence and the exact
 * command that fixes it; a check whose endpoint fails becomes a finding, not a crash.
 */
export async function walkTree(c: AdminClient): Promise<Diagnosis> {
  const out: Finding[] = [];
  const path: string[] = [];
  const add = (f: Finding) => void out.push(f);
  const safely = async (branch: Branch, check: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      add({ branch, check, status: "fail", evidence: `could not check: ${(err as Error).message}` });
    }
  };

  // Reachability: this one may throw (exit 2).
  const status = await c.get<any>("/mcp/admin/status");
  const logDir: string = typeof status.log_dir === "string" ? status.log_dir : "logs";
  add({ branch: "gateway", check: "gateway", status: status.status === "ok" ? "ok" : "warn", evidence: `status ${status.status}, version ${status.version}, up ${status.uptime_s} s, ${status.connections.total} connections${logDir ? `, logs in ${logDir}` : ""}` });

  await safely("gateway", "upstreams", async () => {
    if (status.upstreams_configured === 0 || Object.keys(status.upstreams ?? {}).length === 0) {
      add({ branch: "gateway", check: "upstreams", status: "fail", evidence: "no upstreams configured: there is nothing to route to, so every MCP client finds no tools and /health/gateway answers 503", fix: ["add an `upstreams:` list to the config file (docs/configuration.md), then systemctl restart mcp-gateway"] });
      return;
    }
    const gh = await maybe(c.get<any>("/health/gateway"));
    const cfg = (await c.get<{ value: UpstreamConfigView[] }>("/mcp/admin/config", { path: "upstreams" })).value;
    const down = Object.entries<any>(gh?.upstreams ?? {}).filter(([, u]) => u.status !== "ok");
    if (!down.length) return add({ branch: "gateway", check: "upstreams", status: "ok", evidence: `${Object.keys(gh?.upstreams ?? {}).length} upstream(s) ok` });
    for (const [name, u] of down) {
      const ready = u.replicas.filter((r: any) => r.state === "ready").length;
      const lastError = u.replicas.find((r: any) => r.last_error)?.last_error;
      const evidence = `${name} ${u.status} (${ready}/${u.replicas.length} ready${lastError ? `, last error: ${lastError}` : ""})`;
      const st = u.status === "down" ? "fail" : "warn";
      if (u.transport === "stdio") {
        // A child process: restarting the pool respawns it; its stderr is in the log.
        add({ branch: "gateway", check: "upstreams", status: st, evidence, fix: ["mcp-gateway pool restart", logs(logDir, "gateway.log", `"MCP.Upstream"`)] });
      } else {
        // A remote server: restarting our pool or resetting breakers does not bring it back; check the server.
        const spec = cfg.find((x) => x.name === name);
        const urls = [spec?.url, ...(spec?.urls ?? []).map((x) => (typeof x === "string" ? x : x.url))].filter((x): x is string => !!x);
        add({ branch: "gateway", check: "upstreams", status: st, evidence: `${evidence}: the remote server does not answer; restarting the gateway's pool will not help`, fix: [...urls.slice(0, 2).map((url) => `curl -sS -o /dev/null -w '%{http_code}\\n' ${url}`), logs(logDir, "gateway.log", `"MCP.Upstream"`)] });
      }
    }
  });
  // Tools clients miss because their definitions drifted or failed the scan (docs/integrity.md).
  await safely("gateway", "tool integrity", async () => add(await integrityFinding(c)));

  await safely("gateway", "cluster / Redis", async () => {
    const stats = await c.get<any>("/mcp/stats");
    const rl = await maybe(c.get<any>("/mcp/admin/rate-limit/stats"));
    const cluster = stats.cluster;
    const redisDown = (cluster && cluster.redis !== "connected") || rl?.redis_unavailable === true;
    if (!cluster && rl?.store !== "redis") return add({ branch: "gateway", check: "cluster / Redis", status: "ok", evidence: "single node, in-memory state (no Redis configured)" });
    if (!redisDown) return add({ branch: "gateway", check: "cluster / Redis", status: "ok", evidence: `Redis connected${cluster ? `; ${cluster.node_count} node(s)` : ""}` });
    const why = cluster?.redis_error ?? rl?.store_error ?? "unreachable";
    const mode = rl?.fail_mode ?? "open";
    add({
      branch: "gateway",
      check: "cluster / Redis",
      status: "fail",
      evidence: `degraded mode: Redis unreachable (${why}); sessions are served from this node's memory, rate limiting ${mode === "open" ? "lets every request through (fail_mode open)" : "refuses requests (fail_mode closed)"}${cluster ? `, ${cluster.pending_writes} event-log writes waiting` : ""}`,
      fix: ["systemctl status redis-server", "redis-cli -u \"$REDIS_URL\" ping", ...(mode === "closed" ? ["mcp-gateway config set rate_limiting.fail_mode open"] : [])],
    });
  });

  // B: Connection problem?
  const connectionStart = out.length;
  const a1006 = await c.get<any>("/mcp/admin/analyze-1006", { hours: 24 });
  const analysis = await c.get<any>("/mcp/admin/connections");
  const transports = (await maybe(c.get<any>("/health/gateway")))?.transports ?? {};
  await safely("websocket", "1006 closes", async () => {
    if (!a1006.count) return add({ branch: "websocket", check: "1006 closes", status: "ok", evidence: `no abnormal closes of ${a1006.total_closes} in 24 h` });
    const top = (a1006.top_clients as Array<{ client_id: string }>).slice(0, 2).map((t) => `mcp-gateway trace ${t.client_id}`);
    const evidence = `${a1006.count} abnormal closes (${pct(a1006.ratio)} of ${a1006.total_closes}) in 24 h, median age at close ${a1006.median_age_ms ?? "?"} ms${a1006.hints.length ? `; ${a1006.hints[0]}` : ""}`;
    const st = a1006.spike ? "warn" : "ok";
    if (a1006.dies_at_once) add({ branch: "websocket", check: "1006 closes", status: st, evidence, fix: [...top, "mcp-gateway connections 1006 --hours 24"] });
    else if (a1006.idle_timeout_pattern) add({ branch: "websocket", check: "1006 closes", status: st, evidence, fix: ["mcp-gateway connections 1006 --hours 24", `mcp-gateway config set websocket.ping_interval ${Math.max(5000, Math.min(20_000, Math.floor(((a1006.median_age_ms ?? 60_000) as number) / 2)))}`, "proxy: proxy_read_timeout 3600s in the /mcp/ws location (deploy/nginx/mcp-gateway.conf)"] });
    else add({ branch: "websocket", check: "1006 closes", status: st, evidence, fix: ["mcp-gateway connections 1006 --hours 24", ...top] });
  });
  await safely("websocket", "close codes", async () => {
    const odd = Object.entries<any>(a1006.by_close_code ?? {}).filter(([k]) => k !== "none" && k !== "1006" && !["1000", "1001", "1005"].includes(k));
    if (odd.length) add({ branch: "websocket", check: "close codes", status: "warn", evidence: odd.map(([k, v]) => `${k} x${v.count} (${v.meaning})`).join(", "), fix: ["mcp-gateway connections 1006 --hours 24", ...(a1006.top_clients ?? []).slice(0, 1).map((t: any) => `mcp-gateway errors ${t.client_id} --transport websocket`)] });
  });
  await safely("sse", "SSE reconnects", async () => {
    const rapid = (analysis.suspicious_patterns as Array<{ pattern: string; client_ids: string[] }>).find((p) => p.pattern === "rapid_reconnect");
    const sseCloses = analysis.recent_closes_by_transport?.http_sse ?? 0;
    if (rapid && sseCloses >= analysis.thresholds.rapid_reconnect_count) {
      add({ branch: "sse", check: "SSE reconnects", status: "warn", evidence: `reconnect storm: ${sseCloses} HTTP+SSE streams ended in the last ${analysis.thresholds.rapid_reconnect_window_s} s; clients reconnecting: ${rapid.client_ids.slice(0, 5).join(", ")}`, fix: [...rapid.client_ids.slice(0, 2).map((id) => `mcp-gateway trace ${id}`), "proxy: proxy_buffering off and proxy_read_timeout above http_sse.heartbeat_interval for /mcp/sse (deploy/nginx/mcp-gateway.conf)"] });
    } else add({ branch: "sse", check: "SSE reconnects", status: "ok", evidence: `${sseCloses} HTTP+SSE stream(s) ended in the last ${analysis.thresholds.rapid_reconnect_window_s} s` });
  });
  await safely("connection", "connection patterns", async () => {
    const patterns = (analysis.suspicious_patterns as Array<{ pattern: string; client_ids: string[]; threshold: string }>).filter((p) => p.pattern !== "rapid_reconnect" || !(out.some((f) => f.check === "SSE reconnects" && bad(f))));
    add(patterns.length
      ? { branch: "connection", check: "connection patterns", status: "warn", evidence: patterns.map((p) => `${p.pattern} (${p.threshold}): ${p.client_ids.slice(0, 5).join(", ")}`).join("; "), fix: patterns.flatMap((p) => p.client_ids.slice(0, 2).map((id) => `mcp-gateway trace ${id}`)) }
      : { branch: "connection", check: "connection patterns", status: "ok", evidence: "no rapid reconnects or connection hoarding" });
  });
  await safely("connection", "transports", async () => {
    const open = Object.entries<any>(transports).filter(([, t]) => t.circuit === "open");
    if (open.length) add({ branch: "connection", check: "transports", status: "fail", evidence: `not accepting: ${open.map(([k]) => k).join(", ")} (breaker open)`, fix: open.flatMap(([k]) => [`mcp-gateway transport health ${k}`, `mcp-gateway transport restart ${k}`]) });
  });
  const connectionBad = out.slice(connectionStart).filter(bad);
  path.push(connectionBad.length ? `connection problem? yes: ${connectionBad.map((f) => f.check).join(", ")}` : "connection problem? no");
  if (connectionBad.some((f) => f.branch === "websocket")) path.push(`transport: websocket > close code 1006 > ${a1006.dies_at_once ? "connections die at once (not an idle timeout)" : a1006.idle_timeout_pattern ? "check proxy timeout" : "check close reason / server logs"}`);
  if (connectionBad.some((f) => f.branch === "sse")) path.push("transport: SSE > reconnecting? yes > check network and proxy");

  // D: Performance issue?
  const perfStart = out.length;
  const stats = status.connections;
  await safely("performance", "pool", async () => {
    const pool = await maybe(c.get<{ upstreams: PoolHealth[]; totals: Omit<PoolHealth, "upstream"> }>("/mcp/admin/pool"));
    if (!pool) return add({ branch: "performance", check: "pool", status: "skip", evidence: "pools not installed on this gateway" });
    const cfgSize = Number((await c.get<{ value: unknown }>("/mcp/admin/config", { path: "pool.size" })).value);
    const exhausted = pool.upstreams.filter((p) => p.exhaustion_ratio > THRESHOLDS.pool_exhaustion);
    const timing = pool.upstreams.filter((p) => !exhausted.includes(p) && (p.waiting > 0 || p.timeouts > 0));
    if (exhausted.length) add({ branch: "performance", check: "pool", status: "fail", evidence: exhausted.map(poolEvidence).join("; "), fix: [`mcp-gateway config set pool.size ${Math.max(200, cfgSize * 2)}`, "mcp-gateway cleanup --max-idle-seconds 60"] });
    // Timeouts at low usage: the leases are not the bottleneck; the upstream is slow to answer.
    if (timing.length) add({ branch: "performance", check: "pool", status: "warn", evidence: timing.map(poolEvidence).join("; "), fix: ["mcp-gateway pool health", ...timing.slice(0, 2).map((p) => logs(logDir, "gateway.log", `"upstream=${p.upstream}"`))] });
    if (!exhausted.length && !timing.length) add({ branch: "performance", check: "pool", status: "ok", evidence: `usage ${pct(pool.totals.exhaustion_ratio)} (threshold ${pct(THRESHOLDS.pool_exhaustion)})` });
  });
  add(
    stats.error_rate > THRESHOLDS.error_rate && stats.errors_5m >= THRESHOLDS.min_errors
      ? { branch: "performance", check: "error rate", status: "fail", evidence: `${pct(stats.error_rate)} of requests failed in the last 5 min (${stats.errors_5m} errors) > ${pct(THRESHOLDS.error_rate)}`, fix: [logDir ? `grep "MCP.Gateway" ${logDir}/error.log | grep -E "(error|failed|timeout)"` : `journalctl -u mcp-gateway | grep -E "(error|failed|timeout)"`, "mcp-gateway logging set debug on"] }
      : { branch: "performance", check: "error rate", status: "ok", evidence: `${pct(stats.error_rate)} over 5 min, ${stats.errors_5m} errors (threshold ${pct(THRESHOLDS.error_rate)} with at least ${THRESHOLDS.min_errors} errors)` },
  );
  // L: High memory? -> N: connection leaks
  await safely("memory", "memory", async () => {
    const mem = await c.get<any>("/mcp/admin/memory");
    add(mem.heap.used_ratio > THRESHOLDS.heap_used_ratio
      ? { branch: "memory", check: "memory", status: "warn", evidence: `heap ${pct(mem.heap.used_ratio)} of its limit (${mem.process.heap_used_mb} MB); connections hold ${mem.connections.buffered_bytes + mem.connections.replay_bytes} bytes`, fix: ["mcp-gateway memory", "mcp-gateway gc --hours 1"] }
      : { branch: "memory", check: "memory", status: "ok", evidence: `heap ${mem.process.heap_used_mb} MB (${pct(mem.heap.used_ratio)} of limit), rss ${mem.process.rss_mb} MB` });
  });
  await safely("memory", "connection age", async () => {
    const old = await c.get<any>("/mcp/admin/connections/old", { hours: 24 });
    add(stats.avg_connection_age > THRESHOLDS.connection_age_s || old.count > 0
      ? { branch: "memory", check: "connection age", status: "warn", evidence: `average age ${stats.avg_connection_age} s; ${old.count} connection(s) older than 24 h`, fix: ["mcp-gateway gc --hours 24"] }
      : { branch: "memory", check: "connection age", status: "ok", evidence: `average age ${stats.avg_connection_age} s (threshold ${THRESHOLDS.connection_age_s} s)` });
  });
  // O: message ordering: lag and unacknowledged messages.
  await safely("ordering", "message lag", async () => {
    const lagLimit = Number((await c.get<{ value: unknown }>("/mcp/admin/config", { path: "backpressure.lag_threshold" })).value) || THRESHOLDS.message_lag_ms;
    const queues = await c.get<any>("/mcp/admin/queues");
    const lagging = (queues.top_by_queue_length as any[]).filter((r) => r.lag_ms > lagLimit).sort((a, b) => b.lag_ms - a.lag_ms);
    add(stats.max_message_lag_ms > lagLimit
      ? { branch: "ordering", check: "message lag", status: "warn", evidence: `largest lag ${stats.max_message_lag_ms} ms > ${lagLimit} ms${lagging.length ? ` (${lagging.slice(0, 5).map((r) => `${r.client_id}: ${r.pending_acks} unacknowledged`).join(", ")})` : ""}`, fix: ["mcp-gateway queues", ...lagging.slice(0, 3).map((r) => `mcp-gateway client ${r.client_id}`)] }
      : { branch: "ordering", check: "message lag", status: "ok", evidence: `largest lag ${stats.max_message_lag_ms} ms (threshold ${lagLimit} ms)` });
  });
  const seq = status.sequencing as { gaps_last_hour: number; messages_missed: number; replay_buffer_size: number; top_clients: Array<{ client_id: string; missed: number }> } | undefined;
  if (seq) {
    add(seq.gaps_last_hour > 0
      ? { branch: "ordering", check: "sequencing", status: "warn", evidence: `${seq.gaps_last_hour} resume(s) in the last hour found ${seq.messages_missed} message(s) gone from the replay buffer (session.replay_buffer_size ${seq.replay_buffer_size}): ${seq.top_clients.map((t) => `${t.client_id} missed ${t.missed}`).join(", ")}`, fix: [`mcp-gateway config set session.replay_buffer_size ${seq.replay_buffer_size * 2}`, ...seq.top_clients.slice(0, 2).map((t) => `mcp-gateway trace ${t.client_id}`)] }
      : { branch: "ordering", check: "sequencing", status: "ok", evidence: "no sequencing gaps in the last hour (every resume found its messages)" });
  }
  // M: High CPU? -> P: profile hot paths
  const loop = status.event_loop as { delay_max_ms: number; delay_p99_ms: number; utilization: number; window_ms: number } | undefined;
  if (!loop) add({ branch: "cpu", check: "event loop", status: "skip", evidence: "this gateway does not report event-loop figures" });
  else {
    // Sustained delay, one long block, or a loop busy all of a long window; a short busy burst is not "hot".
    // A percentile of a short window is a handful of samples (one scheduler hiccup on a loaded machine): judge it over 10 s or more.
    const long = loop.window_ms >= 10_000;
    const hot = (long && loop.delay_p99_ms > THRESHOLDS.event_loop_delay_ms) || loop.delay_max_ms > THRESHOLDS.event_loop_block_ms || (loop.utilization > THRESHOLDS.event_loop_utilization && loop.window_ms >= 30_000);
    add(hot
      ? { branch: "cpu", check: "event loop", status: "warn", evidence: `event loop held up to ${loop.delay_max_ms} ms (p99 ${loop.delay_p99_ms} ms, busy ${pct(loop.utilization)}) over the last ${Math.round(loop.window_ms / 1000)} s (thresholds: p99 ${THRESHOLDS.event_loop_delay_ms} ms, one block ${THRESHOLDS.event_loop_block_ms} ms): hot CPU`, fix: ["mcp-gateway logging set log_messages off", "mcp-gateway queues", "mcp-gateway memory"] }
      : { branch: "cpu", check: "event loop", status: "ok", evidence: `max delay ${loop.delay_max_ms} ms, busy ${pct(loop.utilization)} over the last ${Math.round(loop.window_ms / 1000)} s` });
  }
  const perfBad = out.slice(perfStart).filter(bad);
  const memBad = perfBad.some((f) => f.branch === "memory");
  const cpuBad = perfBad.some((f) => f.branch === "cpu");
  path.push(perfBad.length ? `performance issue? yes: ${perfBad.map((f) => f.check).join(", ")}` : "performance issue? no");
  path.push(memBad ? "high memory? yes > check connection leaks" : `high memory? no > message ordering ${perfBad.some((f) => f.branch === "ordering") ? "gaps or lag: see sequencing, message lag" : "ok"}`);
  path.push(cpuBad ? "high CPU? yes > profile hot paths" : "high CPU? no > check circuit breakers");

  // Q: circuit breakers (and what keeps them open).
  await safely("breakers", "circuit breakers", async () => {
    const breakers = (await maybe(c.get<{ breakers: BreakerInfo[] }>("/mcp/admin/breakers")))?.breakers;
    if (!breakers) return add({ branch: "breakers", check: "circuit breakers", status: "skip", evidence: "breakers not installed on this gateway" });
    const open = breakers.filter((b) => b.state === "open");
    const half = breakers.filter((b) => b.state === "half_open");
    const downUpstreams = new Set(out.filter((f) => f.check === "upstreams" && f.status === "fail").map((f) => f.evidence.split(" ")[0]));
    // Resetting a breaker in front of an upstream that is down only re-opens it: fix the upstream first.
    const resettable = open.filter((b) => b.kind === "transport" || !downUpstreams.has(b.target.split("#")[0]!));
    if (open.length) add({ branch: "breakers", check: "circuit breakers", status: "fail", evidence: open.map((b) => `${b.kind} ${b.target} open since ${b.opened_at} (${b.failures} failures)${resettable.includes(b) ? "" : ", its upstream is down: see upstreams"}`).join("; "), fix: [...open.filter((b) => b.kind === "transport").map((b) => `mcp-gateway transport health ${b.target}`), ...resettable.map((b) => `mcp-gateway breakers reset ${b.target}`)] });
    else if (half.length) add({ branch: "breakers", check: "circuit breakers", status: "warn", evidence: `half-open (probing): ${half.map((b) => b.target).join(", ")}`, fix: ["mcp-gateway breakers"] });
    else add({ branch: "breakers", check: "circuit breakers", status: "ok", evidence: `${breakers.length} breaker(s) closed` });
  });
  await safely("breakers", "failover loop", async () => {
    const osc = (await maybe(c.get<any>("/mcp/admin/oscillation")))?.oscillation as Array<{ target: string; failovers: number; held_until: string | null }> | undefined;
    const held = (osc ?? []).filter((o) => o.held_until);
    if (held.length) add({ branch: "breakers", check: "failover loop", status: "warn", evidence: held.map((o) => `${o.target}: ${o.failovers} failovers, held until ${o.held_until}`).join("; "), fix: ["mcp-gateway transport health websocket", "mcp-gateway config set routing.failover_threshold 10"] });
  });
  await safely("breakers", "rate limiting", async () => {
    const rl = await maybe(c.get<any>("/mcp/admin/rate-limit/stats"));
    if (!rl) return add({ branch: "breakers", check: "rate limiting", status: "skip", evidence: "rate limiter not installed on this gateway" });
    if (rl.redis_unavailable) return add({ branch: "breakers", check: "rate limiting", status: "warn", evidence: `counters unavailable (Redis down, fail_mode ${rl.fail_mode}): see cluster / Redis` });
    const recent: Array<{ key: string; rejected: number }> = rl.most_limited?.length ? rl.most_limited : (rl.rate_limited_clients ?? []).map((r: any) => ({ key: `user:${r.client_id}`, rejected: r.rejected }));
    // Rejected at some point is history; still over the limit now is the problem.
    const blocked: Array<{ key: string; rejected: number; retry_after: number | null; limit: number }> = [];
    for (const r of recent.slice(0, 10)) {
      const v = await c.get<any>("/mcp/admin/rate-limit/check", { key: r.key });
      if (!v.allowed) blocked.push({ ...r, retry_after: v.retry_after, limit: v.limit });
    }
    add(blocked.length
      ? { branch: "breakers", check: "rate limiting", status: "warn", evidence: `rate-limited now: ${blocked.slice(0, 5).map((l) => `${l.key} (${l.rejected} rejected, limit ${l.limit}, retry after ${l.retry_after ?? "?"} s)`).join(", ")}`, fix: blocked.slice(0, 3).flatMap((l) => [`mcp-gateway rate-limit reset ${l.key}`, `mcp-gateway rate-limit set ${l.key} ${Math.max(rl.default_limit, l.limit) * 2}`]) }
      : { branch: "breakers", check: "rate limiting", status: "ok", evidence: `no client over its limit now (default ${rl.default_limit} per ${rl.window_ms} ms)${recent.length ? `; recently limited: ${recent.slice(0, 3).map((r) => r.key).join(", ")}` : ""}` });
  });
  const breakersBad = out.filter((f) => f.branch === "breakers" && bad(f));
  if (!cpuBad) path.push(breakersBad.length ? `circuit breakers: ${breakersBad.map((f) => f.evidence.split(";")[0]).join("; ")}` : "circuit breakers: all closed");

  return { ok: !out.some(bad), path, findings: out };
}
