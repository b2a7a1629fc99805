import type * as Commander from "commander";
import { loadConfig, ConfigError, DEV_ADMIN_TOKEN, isLoopbackHost, type GatewayConfig } from "../config/index.js";
import { startGateway } from "../gateway.js";
import { createLogger } from "../telemetry/logger.js";
import { requireForgettable } from "../lazy-packages.js";

/** Options of `mcp-gateway start`. */
export interface StartOptions {
  config?: string;
  port?: number;
  host?: string;
  /** dev only: accept the well-known dev admin token on a non-loopback host. */
  allowDevToken?: boolean;
}

/** Parses a `--port` value; commander prints the InvalidArgumentError's message (no stack) and exits 1. */
export function parsePort(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  // commander is required, not imported: the start path forgets it once the gateway listens (settle-startup.ts).
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new (requireForgettable<typeof Commander>("commander").InvalidArgumentError)(`not a port number (0-65535): ${value}`);
  return n;
}

/** Start-up warnings about a config that works but is probably not what the operator wants. */
export function startWarnings(config: GatewayConfig): string[] {
  const out: string[] = [];
  if (config.upstreams.length === 0) {
    out.push("no upstreams configured: every MCP client will find no tools and /health/gateway answers 503; add an `upstreams:` list to the config file (docs/configuration.md)");
  }
  if (config.profile === "dev" && config.admin.token === DEV_ADMIN_TOKEN && !isLoopbackHost(config.server.host)) {
    out.push(`the dev admin token "${DEV_ADMIN_TOKEN}" is served on ${config.server.host} (--allow-dev-token): anyone who can reach this port can run admin commands`);
  }
  return out;
}

/**
 * Runs the gateway in this process until SIGTERM/SIGINT: load and validate
 * the config, open the logs, listen, and drain on stop (systemd sends SIGTERM).
 */
export async function runStart(opts: StartOptions): Promise<void> {
  let config;
  try {
    config = loadConfig({ file: opts.config, overrides: { port: opts.port, host: opts.host, allowDevToken: opts.allowDevToken } });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mcp-gateway: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logging = createLogger(config);
  for (const w of startWarnings(config)) {
    logging.logger.warn({ component: "MCP.Gateway" }, w);
    if (!config.logging.stdout) console.error(`mcp-gateway: warning: ${w}`);
  }
  let started;
  try {
    started = await startGateway(config);
  } catch (err) {
    logging.logger.fatal({ component: "MCP.Gateway" }, `cannot start: ${(err as Error).message}`);
    console.error(`mcp-gateway: cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  const { gateway, url } = started;
  // Runtime switches (debug, log_connections, ...) changed through the admin API apply to the logs.
  logging.attach(gateway.config);
  logging.logger.info({ component: "MCP.Gateway", profile: config.profile, upstreams: config.upstreams.map((u) => u.name) }, `listening on ${url}/mcp`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logging.logger.info({ component: "MCP.Gateway" }, `${signal}: draining and shutting down`);
    await gateway.close();
    logging.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
