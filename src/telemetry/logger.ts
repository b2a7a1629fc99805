import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { GatewayConfig } from "../config/schema.js";
import { channels, type ConnectionEvent, type ErrorEvent, type LogEvent, type UpstreamEvent } from "./channels.js";

/**
 * Builds the gateway's pino logger and subscribes it to the diagnostics
 * channels. Issue #6 extends this with the text format and rotation; core
 * code only publishes events.
 */
export function createLogger(config: GatewayConfig): { logger: Logger; close(): void } {
  const targets: pino.TransportTargetOptions[] = [];
  if (config.logging.stdout) targets.push({ target: "pino/file", options: { destination: 1 }, level: config.logging.level === "silent" ? "fatal" : config.logging.level });
  if (config.logging.dir) {
    mkdirSync(config.logging.dir, { recursive: true });
    targets.push({ target: "pino/file", options: { destination: join(config.logging.dir, "gateway.log") }, level: "trace" });
    targets.push({ target: "pino/file", options: { destination: join(config.logging.dir, "error.log") }, level: "warn" });
  }
  const logger = targets.length
    ? pino({ level: config.debug ? "debug" : config.logging.level }, pino.transport({ targets }))
    : pino({ level: "silent" });
  const onLog = (e: unknown) => {
    const { level, component, msg, ...rest } = e as LogEvent;
    logger[level]({ component, ...rest }, msg);
  };
  const onUpstream = (e: unknown) => {
    const ev = e as UpstreamEvent;
    const level = ev.type === "stderr" ? "debug" : ev.type === "exited" || ev.type === "failed" ? "warn" : "info";
    logger[level]({ component: "MCP.Upstream", upstream: ev.upstream, replica: ev.replica }, `upstream ${ev.type}${ev.detail ? `: ${ev.detail}` : ""}`);
  };
  const onConnection = (e: unknown) => {
    const ev = e as ConnectionEvent;
    if (config.log_connections) logger.info({ component: "MCP.Transport", client_id: ev.clientId, session: ev.sessionId, transport: ev.transport, close_code: ev.closeCode }, ev.type);
  };
  const onError = (e: unknown) => {
    const ev = e as ErrorEvent;
    logger.warn({ component: "MCP.Gateway", client_id: ev.clientId, code: ev.code }, `error ${ev.code}: ${ev.message}`);
  };
  channels.log.subscribe(onLog);
  channels.upstream.subscribe(onUpstream);
  channels.connection.subscribe(onConnection);
  channels.error.subscribe(onError);
  return {
    logger,
    close() {
      channels.log.unsubscribe(onLog);
      channels.upstream.unsubscribe(onUpstream);
      channels.connection.unsubscribe(onConnection);
      channels.error.unsubscribe(onError);
      logger.flush?.();
    },
  };
}
