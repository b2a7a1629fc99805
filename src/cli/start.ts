import { loadConfig, ConfigError } from "../config/index.js";
import { startGateway } from "../gateway.js";
import { createLogger } from "../telemetry/logger.js";

/** Options of `mcp-gateway start`. */
export interface StartOptions {
  config?: string;
  port?: number;
  host?: string;
}

/** Parses a `--port` value. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: not a port number: ${value}`);
  return n;
}

/**
 * Runs the gateway in this process until SIGTERM/SIGINT: load and validate
 * the config, open the logs, listen, and drain on stop (systemd sends SIGTERM).
 */
export async function runStart(opts: StartOptions): Promise<void> {
  let config;
  try {
    config = loadConfig({ file: opts.config, overrides: { port: opts.port, host: opts.host } });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`mcp-gateway: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logging = createLogger(config);
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
