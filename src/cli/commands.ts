import { InvalidArgumentError, type Command } from "commander";
import { action, fail, type CliState } from "./context.js";
import { confirmReset } from "./confirm.js";

/** A non-negative number option; commander prints the message and exits 1 (no stack trace). */
const int = (name: string) => (v: string) => {
  const n = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name}: not a non-negative number: ${v}`);
  return n;
};

/** Throws a usage error (exit 1, message printed) unless `value` is a positive integer. */
function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A bad argument detected by the CLI itself, before any request. */
export class UsageError extends Error {
  override name = "UsageError";
}

const ON = /^(on|true|1|yes)$/i;
const OFF = /^(off|false|0|no)$/i;

/** `on`/`off` (true/false, 1/0, yes/no) or a usage error: "maybe" is not "off". */
export function parseSwitch(name: string, value: string): boolean {
  if (ON.test(value)) return true;
  if (OFF.test(value)) return false;
  throw new UsageError(`${name}: expected on or off (true/false, 1/0, yes/no), got ${JSON.stringify(value)}`);
}

/**
 * Makes `group` run `defaultName` when called bare (`mcp-gateway breakers`)
 * and refuse anything else that is not one of its subcommands, naming them
 * (commander's isDefault would hand `rate-limit bogus` to `stats` as an extra argument).
 */
function defaultSubcommand(group: Command, defaultName: string, state: CliState): void {
  const names = group.commands.map((c) => c.name());
  const target = group.commands.find((c) => c.name() === defaultName)!;
  group.argument("[command]").action(async (sub: string | undefined, _opts: unknown, cmd: Command) => {
    if (sub !== undefined) {
      state.io.err(`mcp-gateway ${group.name()}: unknown command ${JSON.stringify(sub)} (${names.join(", ")})`);
      state.exitCode = 1;
      return;
    }
    await target.parseAsync([], { from: "user" }).catch((err) => fail(state, err));
    void cmd;
  });
}

/** Renders a trace as the guide shows it: one line per event. */
function traceLines(r: unknown): string {
  const { client_id, events } = r as { client_id: string; events: Array<Record<string, unknown>> };
  if (!events.length) return `no events recorded for ${client_id}`;
  return events
    .map(({ timestamp, event, ...rest }) => `${timestamp}  ${String(event).padEnd(16)} ${Object.entries(rest).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ")}`)
    .join("\n");
}

/**
 * The operator commands: one per action of the troubleshooting guide, each
 * a call to the admin API of a running gateway.
 */
export function addOperatorCommands(program: Command, state: CliState): void {
  program.command("status").description("gateway status overview (Gateway.status())").action(action(state, (c) => c.get("/mcp/admin/status")));
  program.command("stats").description("connection statistics (Gateway.get_connection_stats(), GET /mcp/stats)").action(action(state, (c) => c.get("/mcp/stats")));
  program.command("health").description("gateway and upstream health (GET /health/gateway)").action(action(state, (c) => c.get("/health/gateway").catch((e) => (e.status === 503 ? e.body : Promise.reject(e)))));
  // Cluster mode (docs/cluster.md): the nodes and their figures, from the `cluster` field of /mcp/stats.
  program.command("cluster").description("cluster nodes, Redis state, forwards and takeovers (null on a single node)").action(action(state, (c) => c.get("/mcp/stats").then((s) => (s as { cluster?: unknown }).cluster ?? null)));
  program.command("client <client_id>").description("one client's connections, transport, age, lag, backpressure, errors").action(action(state, (c, [id]) => c.get(`/mcp/admin/clients/${encodeURIComponent(id!)}`)));
  program.command("trace <client_id>").description("a client's recent timeline (Gateway.trace_client)").action(action(state, (c, [id]) => c.get(`/mcp/admin/clients/${encodeURIComponent(id!)}/trace`), traceLines));
  program
    .command("errors <client_id>")
    .description("a client's errors, optionally of one transport (Gateway.get_client_errors)")
    .option("-t, --transport <transport>", "websocket, http_sse or streamable_http")
    .action(action(state, (c, [id], o) => c.get(`/mcp/admin/clients/${encodeURIComponent(id!)}/errors`, { transport: o.transport as string | undefined })));

  const breakers = program.command("breakers").description("circuit breaker states; `breakers reset [target]`");
  breakers.command("list").description("every breaker (CircuitBreaker.get_states)").action(action(state, (c) => c.get("/mcp/admin/breakers")));
  breakers.command("reset [target]").description("reset a breaker: a transport, an upstream, a replica, or all (default)").action(action(state, (c, [target]) => c.post("/mcp/admin/breakers/reset", { target: target ?? "all" })));

  const pool = program.command("pool").description("upstream connection pools; `pool health|clear|restart`");
  pool.command("health").description("pool usage per upstream (ConnectionPool.health_check)").action(action(state, (c) => c.get("/mcp/admin/pool")));
  pool.command("clear").description("close every pooled upstream connection (ConnectionPool.clear_all)").action(action(state, (c) => c.post("/mcp/admin/pool/clear")));
  pool.command("restart").description("restart the pools (Gateway.restart_pool)").action(action(state, (c) => c.post("/mcp/admin/pool/restart")));

  program
    .command("cleanup")
    .description("close client connections idle longer than N seconds (Gateway.cleanup_idle_connections)")
    .option("--max-idle-seconds <n>", "idle threshold", int("--max-idle-seconds"), 300)
    .action(action(state, (c, _a, o) => c.post("/mcp/admin/cleanup", { max_idle_seconds: o.maxIdleSeconds })));
  program
    .command("gc")
    .description("close connections older than N hours (Gateway.gc_old_connections)")
    .option("--hours <n>", "age threshold", int("--hours"), 24)
    .action(action(state, (c, _a, o) => c.post("/mcp/admin/gc", { hours: o.hours })));

  const connections = program.command("connections").description("connection analysis; `connections old|1006`");
  connections.command("analyze").description("age buckets and suspicious patterns (Gateway.analyze_connections)").action(action(state, (c) => c.get("/mcp/admin/connections")));
  connections
    .command("old")
    .description("connections older than N hours (Gateway.find_old_connections)")
    .option("--hours <n>", "age threshold", int("--hours"), 24)
    .action(action(state, (c, _a, o) => c.get("/mcp/admin/connections/old", { hours: o.hours as number })));
  connections
    .command("1006")
    .description("abnormal closes (1006) over the last N hours (Gateway.analyze_1006_errors)")
    .option("--hours <n>", "window", int("--hours"), 24)
    .action(action(state, (c, _a, o) => c.get("/mcp/admin/analyze-1006", { hours: o.hours as number })));

  const rl = program.command("rate-limit").description("rate limiter; `rate-limit stats|check|set|reset`");
  rl.command("stats").description("limits, overrides and the most limited clients (Gateway.get_rate_limit_stats)").action(action(state, (c) => c.get("/mcp/admin/rate-limit/stats")));
  rl.command("check <key> [limit] [window_ms]").description("a key's current count (RateLimiter.check_rate), e.g. check user:user123 100 60000").action(action(state, async (c, [key, limit, window]) => c.get("/mcp/admin/rate-limit/check", { key, limit: positiveInt("limit", limit), window: positiveInt("window_ms", window) })));
  rl.command("set <key> <limit> [window_ms]").description("override a key's limit (RateLimiter.set_limit)").action(action(state, async (c, [key, limit, window]) => c.post("/mcp/admin/rate-limit/set", { key, limit: positiveInt("limit", limit), ...(window ? { window: positiveInt("window_ms", window) } : {}) })));
  rl.command("reset <key>").description("clear a key's counter (RateLimiter.reset)").action(action(state, (c, [key]) => c.post("/mcp/admin/rate-limit/reset", { key })));

  program.command("hash").description("consistent-hash ring distribution (ConsistentHash.get_distribution)").action(action(state, (c) => c.get("/mcp/admin/hash")));
  program.command("oscillation").description("failover flapping per target (S2 check_oscillation)").option("--client <client_id>").action(action(state, (c, _a, o) => c.get("/mcp/admin/oscillation", { client: o.client as string | undefined })));

  const transport = program.command("transport").description("client transports; `transport health|restart <transport>`");
  transport.command("health <transport>").description("breaker state, connections and abnormal closes (check_transport_health)").action(action(state, (c, [t]) => c.get(`/mcp/admin/transports/${encodeURIComponent(t!)}/health`)));
  transport.command("restart <transport>").description("reset its breaker and drop its connections (clients resume)").action(action(state, (c, [t]) => c.post(`/mcp/admin/transports/${encodeURIComponent(t!)}/restart`)));

  const config = program.command("config").description("runtime configuration; `config get [path]`, `config set <path> <value>`");
  config.command("get [path]").description("read a key (e.g. pool.size) or the whole config").action(action(state, (c, [path]) => c.get("/mcp/admin/config", { path })));
  config.command("set <path> <value>").description("change a key live, validated (e.g. pool.size 200)").action(action(state, (c, [path, value]) => c.post("/mcp/admin/config", { path, value })));

  const logging = program.command("logging").description("the debug switches; `logging set <switch> <on|off>`");
  logging.command("show").description("current switches").action(action(state, (c) => c.get("/mcp/admin/logging")));
  logging
    .command("set <switch> <value>")
    .description("debug, log_connections, log_messages, trace_routing (on/off) or level (info, debug, ...)")
    .action(action(state, async (c, [name, value]) => c.post("/mcp/admin/logging", { [name!]: name === "level" ? value : parseSwitch(name!, value!) })));

  program.command("memory").description("memory breakdown and the top connections by buffered bytes").action(action(state, (c) => c.get("/mcp/admin/memory")));
  program.command("queues").description("the connections with the longest queues (pending acks, calls in flight)").action(action(state, (c) => c.get("/mcp/admin/queues")));
  program
    .command("reset")
    .description("EMERGENCY: close every client connection and clear the pools (POST /mcp/admin/reset); asks first on a terminal")
    .option("-y, --yes", "do not ask for confirmation")
    .action(
      action(state, async (c, _a, o) => {
        if (!o.yes && !(await confirmReset(c, state))) {
          state.io.err("mcp-gateway reset: not confirmed, nothing was done");
          state.exitCode = 1;
          return undefined;
        }
        return c.post("/mcp/admin/reset");
      }),
    );
  defaultSubcommand(breakers, "list", state);
  defaultSubcommand(pool, "health", state);
  defaultSubcommand(connections, "analyze", state);
  defaultSubcommand(rl, "stats", state);
  defaultSubcommand(logging, "show", state);

}

