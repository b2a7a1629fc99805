import { join } from "node:path";
import pino, { type Logger, type StreamEntry, type Level } from "pino";
import type { Channel } from "node:diagnostics_channel";
import type { GatewayConfig } from "../config/schema.js";
import type { ConfigStore } from "../config/store.js";
import { channels, type CallEvent, type ClientEvent, type ConnectionEvent, type ErrorEvent, type LogEvent, type MessageEvent, type UpstreamEvent } from "./channels.js";
import { RotatingFile } from "./rotating-file.js";
import { TextLines } from "./log-format.js";
import { redactConfig, redactText } from "../config/redact.js";
import { truncate, truncateFields } from "../errors/truncate.js";

/** The running logger: the pino instance, a way to follow runtime config, and close. */
export interface LoggingHandle {
  logger: Logger;
  /** Follows a ConfigStore: the guide's debug switches and `logging.level` apply live. */
  attach(store: ConfigStore): void;
  close(): void;
}

const NORMAL_CLOSES = new Set([1000, 1001, 1005]);

/** The level lines are written at: `debug: true` lowers it to debug. */
export function levelOf(c: GatewayConfig): Level | "silent" {
  if (c.debug && c.logging.level !== "trace") return "debug";
  return c.logging.level;
}

/**
 * Builds the gateway's pino logger and subscribes it to the diagnostics
 * channels. By default it writes `logs/gateway.log` (everything) and
 * `logs/error.log` (warn and above), rotated at `logging.max_size` keeping
 * `logging.max_files`, in the grep-able text format (`logging.format: json`
 * for log shippers), and to stdout (`logging.stdout`, which journald keeps).
 * Core code only publishes events; this is the one place that writes logs.
 */
export function createLogger(initial: GatewayConfig | ConfigStore): LoggingHandle {
  let config: GatewayConfig = "current" in initial ? (initial as ConfigStore).current : (initial as GatewayConfig);
  const lc = config.logging;
  const text = lc.format === "text";
  const files: RotatingFile[] = [];
  const streams: StreamEntry[] = [];
  const wrap = (s: { write(x: string): unknown }) => (text ? new TextLines(s) : s) as StreamEntry["stream"];
  if (lc.stdout && lc.level !== "silent") streams.push({ level: "trace", stream: wrap(process.stdout) });
  if (lc.dir) {
    const all = new RotatingFile(join(lc.dir, "gateway.log"), lc.max_size, lc.max_files);
    const errors = new RotatingFile(join(lc.dir, "error.log"), lc.max_size, lc.max_files);
    files.push(all, errors);
    streams.push({ level: "trace", stream: wrap(all) }, { level: "warn", stream: wrap(errors) });
  }
  // Log lines often carry client input (methods, reasons, error texts): cut long strings before they are written.
  const maxField = config.diagnostics?.max_string_length ?? 512;
  const logger = streams.length
    ? pino(
        {
          level: levelOf(config),
          base: text ? undefined : { pid: process.pid },
          timestamp: pino.stdTimeFunctions.epochTime,
          // Error texts can carry a URL with its password or a Bearer token: every line passes the one redaction list.
          formatters: { log: (fields) => redactConfig(fields) as Record<string, unknown> },
          hooks: {
            logMethod(args, method) {
              // Cut long client-supplied strings first (bounded log lines), then redact what is left.
              const [fields, msg, ...more] = args as unknown[];
              const cut =
                fields !== null && typeof fields === "object"
                  ? [truncateFields(fields as Record<string, unknown>, maxField), typeof msg === "string" ? truncate(msg, 8 * maxField) : msg, ...more]
                  : [typeof fields === "string" ? truncate(fields, 8 * maxField) : fields, msg, ...more];
              method.apply(this, cut.map((a) => (typeof a === "string" ? redactText(a) : a)) as Parameters<typeof method>);
            },
          },
        },
        pino.multistream(streams),
      )
    : pino({ level: "silent" });

  const lines = subscribeLogLines(config, (level, fields, msg) => logger[level](fields, msg));
  const apply = (c: GatewayConfig) => {
    config = c;
    if (streams.length) logger.level = levelOf(c);
    lines.apply(c);
  };
  apply(config);
  let store: ConfigStore | undefined;
  const onChange = ({ config: c, path, previous, value }: { config: GatewayConfig; path: string; previous: unknown; value: unknown }) => {
    apply(c);
    logger.info({ component: "MCP.Gateway", key: path, previous: redactConfig(previous, path), value: redactConfig(value, path) }, "config changed");
  };
  const handle: LoggingHandle = {
    logger,
    attach(s: ConfigStore) {
      store?.off("change", onChange);
      store = s;
      s.on("change", onChange);
      apply(s.current);
    },
    close() {
      store?.off("change", onChange);
      lines.close();
      for (const f of files) f.close();
    },
  };
  if ("current" in initial) handle.attach(initial as ConfigStore);
  return handle;
}

/** Where one log line goes: the pino logger of the log files, or the live console's tail. */
export type LogEmit = (level: "trace" | "debug" | "info" | "warn" | "error", fields: Record<string, unknown>, msg: string) => void;

/** A running subscription of the channels the log shows. */
export interface LogLines {
  /** Follows a config change (the debug switches subscribe or drop the per-message and per-call channels). */
  apply(config: GatewayConfig): void;
  close(): void;
}

/**
 * Subscribes to every diagnostics channel the log shows and turns each event
 * into a line (level, fields, message): one mapping for the log files and the
 * console's live tail. Per-message and per-call lines subscribe only while
 * their switch is on, so they cost nothing otherwise.
 */
export function subscribeLogLines(initial: GatewayConfig, emit: LogEmit): LogLines {
  let config = initial;
  const onLog = (e: unknown) => {
    const { level, component, msg, clientId, ...rest } = e as LogEvent;
    // trace_routing lines are published at debug; the switch makes them visible without full debug.
    const lvl = component === "MCP.Routing" && level === "debug" && config.trace_routing ? "info" : level;
    emit(lvl, { component, client_id: clientId, ...rest }, msg);
  };
  const onUpstream = (e: unknown) => {
    const ev = e as UpstreamEvent;
    const level = ev.type === "stderr" ? "debug" : ev.type === "exited" || ev.type === "failed" ? "warn" : "info";
    emit(level, { component: "MCP.Upstream", upstream: ev.upstream, replica: ev.replica }, `upstream ${ev.type}${ev.detail ? `: ${ev.detail}` : ""}`);
  };
  const onConnection = (e: unknown) => {
    const ev = e as ConnectionEvent;
    const abnormal = ev.type === "disconnected" && ev.closeCode !== undefined && !NORMAL_CLOSES.has(ev.closeCode);
    if (!config.log_connections && !abnormal) return;
    const fields = { component: "MCP.Transport", client_id: ev.clientId, transport: ev.transport, session: ev.sessionId, close_code: ev.closeCode, reason: ev.reason || undefined, remote: ev.remote };
    if (abnormal) emit("warn", fields, `disconnected abnormally (close ${ev.closeCode})`);
    else emit("info", fields, ev.type);
  };
  const onError = (e: unknown) => {
    const ev = e as ErrorEvent;
    const fields = { component: "MCP.Gateway", client_id: ev.clientId, code: ev.code, type: ev.type, transport: ev.transport, upstream: ev.upstream };
    if (ev.code === "internal_error") emit("error", fields, `error ${ev.code}: ${ev.message}`);
    else emit("warn", fields, `error ${ev.code}: ${ev.message}`);
  };
  const onClient = (e: unknown) => {
    const { type, clientId, ...rest } = e as ClientEvent;
    const fields = { component: type === "transport_switch" || type === "resumed" ? "MCP.Transport" : "MCP.Gateway", client_id: clientId, ...rest };
    if (type === "rate_limited" || type === "backpressure_dropped" || type === "connection_refused") emit("warn", fields, type);
    else if (type === "throttled" || type === "transport_switch") emit("info", fields, type);
    else emit("debug", fields, type);
  };
  const onMessage = (e: unknown) => {
    const ev = e as MessageEvent;
    emit("info", { component: "MCP.Transport", client_id: ev.clientId, transport: ev.transport, session: ev.sessionId, method: ev.method, size: ev.size }, `message ${ev.direction}`);
  };
  const onCall = (e: unknown) => {
    const ev = e as CallEvent;
    emit("debug", { component: "MCP.Routing", client_id: ev.clientId, upstream: ev.upstream, replica: ev.replica, duration_ms: ev.durationMs, ok: ev.ok }, `call ${ev.method}`);
  };
  const onBreaker = (e: unknown) => {
    const ev = e as { target: string; kind: string; from: string; to: string; failures: number; reason?: string };
    const fields = { component: "MCP.CircuitBreaker", target: ev.target, kind: ev.kind, failures: ev.failures, reason: ev.reason };
    emit(ev.to === "open" ? "warn" : "info", fields, `breaker ${ev.target} ${ev.from} -> ${ev.to}`);
  };
  const QUIET = new Set(["resized", "idle_closed", "hold_released", "failback", "resubscribed", "redis_up", "node_joined", "released", "forwarded", "remote_command"]);
  const onEvent = (component: string, prefix: string) => (e: unknown) => {
    const { type, clientId, detail, ...fields } = e as { type: string; clientId?: string; detail?: string; [k: string]: unknown };
    emit(QUIET.has(type) ? "info" : "warn", { component, client_id: clientId, ...fields }, `${prefix}${type}${detail ? `: ${detail}` : ""}`);
  };

  const extra = channels as unknown as Record<string, Channel | undefined>;
  const subs: Array<[Channel, (m: unknown) => void]> = [
    [channels.log, onLog], [channels.upstream, onUpstream], [channels.connection, onConnection], [channels.error, onError], [channels.client, onClient],
  ];
  const optional: Array<[string, (m: unknown) => void]> = [
    ["breaker", onBreaker],
    ["pool", onEvent("MCP.Pool", "pool ")],
    ["failover", onEvent("MCP.Routing", "")],
    ["cluster", onEvent("MCP.Cluster", "cluster ")],
  ];
  for (const [name, fn] of optional) {
    const ch = extra[name];
    if (ch) subs.push([ch, fn]);
  }
  for (const [ch, fn] of subs) ch.subscribe(fn);

  // Per-message and per-call logging subscribe only while switched on: no cost otherwise.
  let messagesOn = false;
  let callsOn = false;
  const apply = (c: GatewayConfig) => {
    config = c;
    if (c.log_messages !== messagesOn) {
      messagesOn = c.log_messages;
      if (messagesOn) channels.message.subscribe(onMessage);
      else channels.message.unsubscribe(onMessage);
    }
    const wantCalls = c.debug || c.trace_routing;
    if (wantCalls !== callsOn) {
      callsOn = wantCalls;
      if (callsOn) channels.call.subscribe(onCall);
      else channels.call.unsubscribe(onCall);
    }
  };
  apply(config);
  return {
    apply,
    close() {
      for (const [ch, fn] of subs) ch.unsubscribe(fn);
      if (messagesOn) channels.message.unsubscribe(onMessage);
      if (callsOn) channels.call.unsubscribe(onCall);
    },
  };
}
