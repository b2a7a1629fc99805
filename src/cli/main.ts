import { Command } from "commander";
import { loadConfig, ConfigError } from "../config/index.js";
import { startGateway, VERSION } from "../gateway.js";
import { createLogger } from "../telemetry/logger.js";

/**
 * `mcp-gateway`: `start` runs the gateway; the operator commands (status,
 * stats, breakers, ...) talk to a running gateway's admin API.
 */
export function buildProgram(): Command {
  const program = new Command("mcp-gateway").description("MCP Gateway: one endpoint in front of many MCP servers").version(VERSION);
  program
    .command("start")
    .description("start the gateway (embedded defaults when no config is given)")
    .option("-c, --config <file>", "YAML config file (or MCP_GATEWAY_CONFIG)")
    .option("-p, --port <n>", "port to listen on (or PORT)", (v) => parsePort(v))
    .option("-H, --host <host>", "interface to bind (dev default 127.0.0.1)")
    .action(async (opts: { config?: string; port?: number; host?: string }) => {
      await runStart(opts);
    });
  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port: not a port number: ${value}`);
  return n;
}

async function runStart(opts: { config?: string; port?: number; host?: string }): Promise<void> {
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

await buildProgram().parseAsync(process.argv);
