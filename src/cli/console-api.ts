import type { AdminClient } from "./admin-client.js";
import { chain } from "./chain.js";

/** Wraps every function of every module (nested ones too) so its promise can be read through (`Gateway.status().status`). */
function chained<T extends Record<string, unknown>>(modules: T): T {
  const wrap = (v: unknown): unknown => {
    if (typeof v === "function") return (...args: unknown[]) => chain(Promise.resolve((v as (...a: unknown[]) => unknown)(...args)));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wrap(x)]));
    return v;
  };
  return wrap(modules) as T;
}

type Opts = Record<string, unknown> | number | undefined;

/** Reads `{hours: 24}`, `{last_hours: 24}` or a bare number. */
function pick(o: Opts, keys: string[], fallback: number): number {
  if (typeof o === "number") return o;
  for (const k of keys) if (o && typeof o[k] === "number") return o[k] as number;
  return fallback;
}

/** The guide's `:websocket` atoms become strings; accept both spellings. */
const name = (v: unknown) => String(v ?? "").replace(/^:/, "");

/**
 * The guide's IEx modules, in JavaScript: each function is one admin API
 * call returning a Promise of its JSON answer. Argument shapes follow the
 * guide (`{max_idle_seconds: 60}`, `("user:user123", 100, 60000)`); the
 * first argument of `CircuitBreaker.*` (the guide's `:mcp_gateway`) names the
 * gateway and is accepted for fidelity.
 */
export function consoleApi(c: AdminClient) {
  const HealthCheck = {
    check_transport_health: (t: string) => c.get(`/mcp/admin/transports/${encodeURIComponent(name(t))}/health`),
  };
  const Gateway = {
    status: () => c.get("/mcp/admin/status"),
    get_connection_stats: () => c.get("/mcp/stats"),
    get_client_info: (id: string) => c.get(`/mcp/admin/clients/${encodeURIComponent(id)}`),
    trace_client: (id: string) => c.get<{ events: unknown[] }>(`/mcp/admin/clients/${encodeURIComponent(id)}/trace`).then((r) => r.events),
    get_client_errors: (id: string, transport?: string) => c.get(`/mcp/admin/clients/${encodeURIComponent(id)}/errors`, { transport: transport ? name(transport) : undefined }),
    analyze_1006_errors: (o?: Opts) => c.get("/mcp/admin/analyze-1006", { hours: pick(o, ["last_hours", "hours"], 24) }),
    analyze_connections: () => c.get("/mcp/admin/connections"),
    find_old_connections: (o?: Opts) => c.get("/mcp/admin/connections/old", { hours: pick(o, ["hours"], 24) }),
    gc_old_connections: (o?: Opts) => c.post("/mcp/admin/gc", { hours: pick(o, ["hours"], 24) }),
    cleanup_idle_connections: (o?: Opts) => c.post("/mcp/admin/cleanup", { max_idle_seconds: pick(o, ["max_idle_seconds"], 300) }),
    get_rate_limit_stats: () => c.get("/mcp/admin/rate-limit/stats"),
    restart_pool: () => c.post("/mcp/admin/pool/restart"),
    reset: () => c.post("/mcp/admin/reset"),
    memory: () => c.get("/mcp/admin/memory"),
    queues: () => c.get("/mcp/admin/queues"),
    HealthCheck,
  };
  const CircuitBreaker = {
    get_states: (_gateway?: string) => c.get<{ breakers: unknown[] }>("/mcp/admin/breakers").then((r) => r.breakers),
    all_states: () => c.get<{ breakers: unknown[] }>("/mcp/admin/breakers").then((r) => r.breakers),
    reset: (gatewayOrTarget?: string, target?: string) => c.post("/mcp/admin/breakers/reset", { target: name(target ?? gatewayOrTarget ?? "all") }),
  };
  const ConnectionPool = {
    health_check: () => c.get("/mcp/admin/pool"),
    clear_all: () => c.post("/mcp/admin/pool/clear"),
    restart: () => c.post("/mcp/admin/pool/restart"),
  };
  const RateLimiter = {
    check_rate: (key: string, limit?: number, windowMs?: number) => c.get("/mcp/admin/rate-limit/check", { key, limit, window: windowMs }),
    set_limit: (key: string, limit: number, windowMs?: number) => c.post("/mcp/admin/rate-limit/set", { key, limit, ...(windowMs ? { window: windowMs } : {}) }),
    reset: (key: string) => c.post("/mcp/admin/rate-limit/reset", { key }),
    stats: () => c.get("/mcp/admin/rate-limit/stats"),
  };
  const ConsistentHash = { get_distribution: () => c.get<{ distribution: unknown[] }>("/mcp/admin/hash").then((r) => r.distribution) };
  const Config = {
    get: (path?: string) => c.get<{ value: unknown }>("/mcp/admin/config", { path }).then((r) => r.value),
    set: (path: string, value: unknown) => c.post("/mcp/admin/config", { path, value }),
  };
  const Logging = {
    get: () => c.get("/mcp/admin/logging"),
    set: (switches: Record<string, unknown>) => c.post("/mcp/admin/logging", switches),
  };
  const Transport = { restart: (t: string) => c.post(`/mcp/admin/transports/${encodeURIComponent(name(t))}/restart`) };
  /** The guide's `EventBus.call(:s2_coordination, %{request: :check_oscillation, client: id})`. */
  const EventBus = {
    call: (_bus: string, req: { request?: string; client?: string }) => {
      if (name(req?.request) !== "check_oscillation") return Promise.reject(new Error("only {request: \"check_oscillation\", client} is supported"));
      return c.get<{ oscillation: unknown[] }>("/mcp/admin/oscillation", { client: req.client }).then((r) => r.oscillation);
    },
  };
  /** `:recon.proc_count(:memory | :message_queue_len, N)` and `:recon_alloc.memory(:allocated)`. */
  const Recon = {
    proc_count: (what: string, n = 10) =>
      name(what) === "message_queue_len"
        ? c.get<{ top_by_queue_length: unknown[] }>("/mcp/admin/queues").then((r) => r.top_by_queue_length.slice(0, n))
        : c.get<{ top_by_memory: unknown[] }>("/mcp/admin/memory").then((r) => r.top_by_memory.slice(0, n)),
    alloc_memory: () => c.get("/mcp/admin/memory"),
  };
  const help = () =>
    [
      "Gateway.status()  Gateway.get_connection_stats()  Gateway.get_client_info(id)  Gateway.trace_client(id)",
      "Gateway.get_client_errors(id, \"websocket\")  Gateway.analyze_1006_errors({last_hours: 24})  Gateway.analyze_connections()",
      "Gateway.find_old_connections({hours: 24})  Gateway.gc_old_connections({hours: 24})  Gateway.cleanup_idle_connections({max_idle_seconds: 60})",
      "Gateway.get_rate_limit_stats()  Gateway.restart_pool()  Gateway.HealthCheck.check_transport_health(\"websocket\")",
      "CircuitBreaker.get_states(\"mcp_gateway\")  CircuitBreaker.reset(\"mcp_gateway\", \"websocket\")",
      "ConnectionPool.health_check()  ConnectionPool.clear_all()  ConsistentHash.get_distribution()",
      "RateLimiter.check_rate(\"user:user123\", 100, 60000)  RateLimiter.set_limit(\"user:user123\", 200, 60000)  RateLimiter.reset(\"user:user123\")",
      "Config.get(\"pool.size\")  Config.set(\"pool.size\", 200)  Logging.set({debug: true})  Transport.restart(\"websocket\")",
      "EventBus.call(\"s2_coordination\", {request: \"check_oscillation\", client: \"id\"})  Recon.proc_count(\"memory\", 10)",
    ].join("\n");
  const modules = { Gateway, CircuitBreaker, ConnectionPool, RateLimiter, ConsistentHash, Config, Logging, Transport, EventBus, Recon };
  return { ...chained(modules), help };
}
