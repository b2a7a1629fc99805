import type { Gateway } from "../gateway.js";
import { GatewayError } from "../errors/index.js";
import { ConfigError, redactConfig } from "../config/index.js";
import type { RateLimitService, ResilienceService } from "./services.js";
import type { ClientTracker } from "../telemetry/tracker.js";
import { gatewayHealth, health } from "./health.js";
import { clientErrors, clientInfo, clientList, publicClientInfo, lagOf, normalizeTransport, traceClient, type OpsContext } from "./client-diagnostics.js";
import { analyze1006, analyzeConnections, cleanupIdleConnections, closeSessions, findOldConnections, gcOldConnections, type PatternThresholds } from "./connection-analysis.js";
import { memoryReport, queuesReport } from "./memory.js";
import { eventLoopReport, startEventLoopMonitor } from "./event-loop.js";

/** Client transports an operator can name (Phoenix clients ride the WebSocket breaker). */
const CLIENT_TRANSPORTS = ["websocket", "http_sse", "streamable_http", "phoenix"];

/** The runtime logging switches of the guide's debug config. */
export const LOGGING_SWITCHES = ["debug", "log_connections", "log_messages", "trace_routing"] as const;

/**
 * Every operator action as one method: the admin routes, and through them the
 * CLI, console and doctor, call these. Methods are thin over the services;
 * where a service is missing they throw `not_implemented` (501).
 */
export class Operations implements OpsContext {
  constructor(
    readonly gateway: Gateway,
    readonly tracker: ClientTracker,
  ) {
    startEventLoopMonitor();
  }

  /** The resilience service, or `not_implemented`. */
  get resilience(): ResilienceService {
    const r = this.gateway.resilience;
    if (!r) throw new GatewayError("not_implemented", { service: "resilience (pools, breakers, hash ring)" });
    return r;
  }

  /** The rate limiter, or `not_implemented`. */
  get rateLimiter(): RateLimitService {
    const r = this.gateway.rateLimiter;
    if (!r) throw new GatewayError("not_implemented", { service: "rate limiting" });
    return r;
  }

  /** `Gateway.get_connection_stats()` / `GET /mcp/stats`. */
  connectionStats(now = Date.now()) {
    const byTransport: Record<string, number> = { websocket: 0, http_sse: 0, streamable_http: 0 };
    let total = 0;
    let ageSum = 0;
    let maxLag = 0;
    for (const s of this.gateway.registry.all()) {
      if (!s.sink) continue;
      total++;
      byTransport[s.transport] = (byTransport[s.transport] ?? 0) + 1;
      ageSum += now - s.createdAt;
      maxLag = Math.max(maxLag, lagOf(this, s));
    }
    const pool = this.gateway.resilience?.healthCheck().totals;
    const w = this.tracker.window(5, now);
    return {
      total,
      sessions: this.gateway.registry.size,
      by_transport: byTransport,
      pool_available: pool ? pool.available : null,
      pool_overflow: pool ? pool.overflow_in_use : null,
      pool_usage: pool ? round(pool.exhaustion_ratio) : null,
      avg_connection_age: total ? Math.round(ageSum / total / 1000) : 0,
      max_message_lag_ms: maxLag,
      error_rate: round(this.tracker.errorRate(5, now)),
      errors_5m: w.errors,
      messages_in: this.tracker.totals.inbound,
      messages_out: this.tracker.totals.outbound,
      messages_in_5m: w.inbound,
      messages_out_5m: w.outbound,
      // Cluster mode: every node's figures (src/cluster/); null on a single node.
      cluster: this.gateway.cluster?.view() ?? null,
    };
  }

  /** `Gateway.status()`: health, connections, upstreams, breakers, pools and switches in one answer. */
  status() {
    const h = health(this.gateway.healthSources).body;
    const g = gatewayHealth(this.gateway.healthSources).body as { upstreams: Record<string, { status: string; transport: string; replicas: unknown[] }> };
    const breakers = this.gateway.resilience?.breakerStates() ?? null;
    const pool = this.gateway.resilience?.healthCheck().totals ?? null;
    const c = this.gateway.config.current;
    return {
      status: h.status,
      version: h.version,
      uptime_s: h.uptime_s,
      pid: process.pid,
      connections: this.connectionStats(),
      upstreams: Object.fromEntries(Object.entries(g.upstreams).map(([name, u]) => [name, { status: u.status, transport: u.transport, replicas: u.replicas.length }])),
      breakers: breakers ? { open: breakers.filter((b) => b.state === "open").map((b) => b.target), half_open: breakers.filter((b) => b.state === "half_open").map((b) => b.target), total: breakers.length } : null,
      pool,
      rate_limiting: { enabled: c.rate_limiting.enabled, default_limit: c.rate_limiting.default_limit, window: c.rate_limiting.window, installed: this.gateway.rateLimiter !== undefined },
      services: { resilience: this.gateway.resilience !== undefined, rate_limiter: this.gateway.rateLimiter !== undefined },
      logging: this.loggingSwitches(),
      // Where the log files are (absolute; "" = stdout only): the doctor's fix lines name them.
      log_dir: c.logging.dir ?? "",
      profile: c.profile,
      upstreams_configured: c.upstreams.length,
      // The guide's "High CPU?": since the previous status call.
      event_loop: eventLoopReport(),
      // The guide's "Check Message Ordering": resumes that found messages gone from the replay buffer (last hour).
      sequencing: sequencingReport(this.tracker.gaps(3_600_000), c.session.replay_buffer_size),
    };
  }

  /** The public, redacted view (no session ids, no error texts) for `/mcp/health/client/:id`. */
  publicClientInfo(id: string) {
    return publicClientInfo(this, id);
  }

  /** `Gateway.get_client_info(id)`: connections, transport, age, lag, backpressure, errors (404 unknown). */
  clientInfo(id: string) {
    return clientInfo(this, id);
  }

  /** `GET /mcp/admin/clients`: the searchable client list. */
  clientList(q?: string, limit?: number) {
    return clientList(this, q, limit);
  }

  /**
   * `POST /mcp/admin/clients/:id/disconnect`: ends every session of one client
   * (1001 on WebSocket, the stream ends on SSE; buffers freed). The client may
   * connect again with a new session; block it with a rate limit if it must not.
   */
  endClientSessions(id: string) {
    const sessions = this.gateway.registry.byClient(id);
    if (sessions.length === 0) throw new GatewayError("client_not_found", { client_id: id });
    closeSessions(this, [...sessions], "sessions ended by an operator", 1001);
    return { client_id: id, ended: sessions.length };
  }

  /** `Gateway.trace_client(id)`: the client's bounded timeline. */
  traceClient(id: string) {
    return { client_id: id, events: traceClient(this, id) };
  }

  /** `Gateway.get_client_errors(id, transport)`. */
  clientErrors(id: string, transport?: string) {
    return clientErrors(this, id, transport);
  }

  /** `Gateway.analyze_1006_errors(last_hours: N)`. */
  analyze1006(hours: number) {
    return analyze1006(this, hours);
  }

  /** `Gateway.analyze_connections()`: age buckets and suspicious patterns. */
  analyzeConnections(thresholds?: Partial<PatternThresholds>) {
    return analyzeConnections(this, thresholds);
  }

  /** `Gateway.find_old_connections(hours: N)`. */
  findOldConnections(hours: number) {
    return findOldConnections(this, hours);
  }

  /** `Gateway.gc_old_connections(hours: N)`: closes them politely. */
  gcOldConnections(hours: number) {
    return gcOldConnections(this, hours);
  }

  /** `Gateway.cleanup_idle_connections(max_idle_seconds: N)`. */
  cleanupIdleConnections(maxIdleSeconds: number) {
    return cleanupIdleConnections(this, maxIdleSeconds);
  }

  /** `POST /mcp/admin/reset`: closes every client connection (1001) and clears the pools. */
  async reset() {
    const sessions = [...this.gateway.registry.all()];
    const clients = closeSessions(this, sessions, "admin reset", 1001);
    this.gateway.websocket.closeAll(1001, "admin reset");
    const pools = this.gateway.resilience ? await this.gateway.resilience.clearAll() : null;
    return { closed: sessions.length, clients: clients.length, pools_cleared: pools?.cleared ?? null };
  }

  /** Memory breakdown and top connections by bytes (`:recon_alloc.memory`, `:recon.proc_count(:memory, 10)`). */
  memory() {
    return memoryReport(this);
  }

  /** Top connections by queue length (`:recon.proc_count(:message_queue_len, 10)`). */
  queues() {
    return queuesReport(this);
  }

  /** `Gateway.HealthCheck.check_transport_health(:websocket)`: breaker state plus what this node sees. */
  transportHealth(transport: string) {
    const t = normalizeTransport(transport) ?? transport;
    if (!CLIENT_TRANSPORTS.includes(t)) throw new GatewayError("invalid_params", { detail: `unknown transport ${transport} (${CLIENT_TRANSPORTS.join(", ")})` });
    let connections = 0;
    for (const s of this.gateway.registry.all()) if (s.sink && s.transport === t) connections++;
    const hour = this.tracker.closes(3_600_000).filter((c) => c.transport === t);
    const abnormal = hour.filter((c) => c.code !== undefined && c.code !== 1000 && c.code !== 1001 && c.code !== 1005).length;
    const fromBreakers = this.gateway.resilience?.transportHealth(t);
    return {
      transport: t,
      state: fromBreakers?.state ?? "closed",
      accepting: fromBreakers?.accepting ?? true,
      connections,
      errors: fromBreakers?.errors ?? abnormal,
      closes_last_hour: hour.length,
      abnormal_closes_last_hour: abnormal,
      breaker_installed: fromBreakers !== undefined,
    };
  }

  /** `POST /mcp/admin/transports/:t/restart`: resets its breaker and closes its connections so clients reconnect. */
  restartTransport(transport: string) {
    const t = normalizeTransport(transport) ?? transport;
    if (!CLIENT_TRANSPORTS.includes(t)) throw new GatewayError("invalid_params", { detail: `unknown transport ${transport}` });
    const sessions = [...this.gateway.registry.all()].filter((s) => s.sink && s.transport === t);
    const reset = this.gateway.resilience?.resetBreaker(t).reset ?? [];
    // Sessions stay (clients resume); only their connections are dropped.
    for (const s of sessions) s.sink?.close(1012, "transport restart");
    return { transport: t, connections_closed: sessions.length, breakers_reset: reset };
  }

  /** `Config.get(path)`. */
  configGet(path?: string) {
    if (!path) return { path: null, value: redactConfig(this.gateway.config.current) };
    const value = this.gateway.config.get(path);
    if (value === undefined) throw new GatewayError("config_invalid", { detail: `${path}: unknown key` });
    return { path, value: redactConfig(value, path) };
  }

  /** `Config.set(path, value)`: validated by ConfigStore.update, applied live; 400 naming the key otherwise. */
  configSet(path: string, value: unknown) {
    if (typeof path !== "string" || !path) throw new GatewayError("config_invalid", { detail: "path is required (e.g. pool.size)" });
    try {
      const change = this.gateway.config.update(path, coerce(value));
      return { path, previous: redactConfig(change.previous, path), value: redactConfig(change.value, path) };
    } catch (err) {
      if (err instanceof ConfigError) throw new GatewayError("config_invalid", { detail: err.message });
      throw err;
    }
  }

  /** The current debug switches and log level. */
  loggingSwitches() {
    const c = this.gateway.config.current;
    return { debug: c.debug, log_connections: c.log_connections, log_messages: c.log_messages, trace_routing: c.trace_routing, level: c.logging.level };
  }

  /** `POST /mcp/admin/logging {debug, log_connections, log_messages, trace_routing, level}`. */
  setLogging(body: Record<string, unknown>) {
    for (const key of Object.keys(body)) {
      if (key === "level") this.configSet("logging.level", body[key]);
      else if ((LOGGING_SWITCHES as readonly string[]).includes(key)) this.configSet(key, body[key]);
      else throw new GatewayError("config_invalid", { detail: `${key}: not a logging switch (${LOGGING_SWITCHES.join(", ")}, level)` });
    }
    return this.loggingSwitches();
  }

  /** `Gateway.get_rate_limit_stats()`: the limiter's stats plus the clients this node saw limited. */
  async rateLimitStats() {
    const stats = await this.rateLimiter.stats();
    return { ...stats, rate_limited_clients: this.tracker.rateLimitedClients().slice(0, 20) };
  }
}

function sequencingReport(gaps: Array<{ clientId: string; missed: number }>, bufferSize: number) {
  const byClient = new Map<string, number>();
  for (const g of gaps) byClient.set(g.clientId, (byClient.get(g.clientId) ?? 0) + g.missed);
  return { gaps_last_hour: gaps.length, messages_missed: gaps.reduce((n, g) => n + g.missed, 0), replay_buffer_size: bufferSize, top_clients: [...byClient].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([client_id, missed]) => ({ client_id, missed })) };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

/** Values from the CLI and console arrive as strings: "200" -> 200, "true" -> true. */
export function coerce(value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === "true" || value === "false") return value === "true";
  if (/^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}
