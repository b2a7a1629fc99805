import type * as Commander from "commander";
import type { Command } from "commander";
import { requireForgettable } from "../lazy-packages.js";
import { settleStartup } from "./settle-startup.js";
import { parsePort, runStart, type StartOptions } from "./start.js";

/** The `start` command: runs the gateway in this process. */
export function addStartCommand(program: Command): Command {
  return program
    .command("start")
    .description("start the gateway (embedded defaults when no config is given)")
    .option("-c, --config <file>", "YAML config file (or MCP_GATEWAY_CONFIG)")
    .option("-p, --port <n>", "port to listen on (or PORT)", (v) => parsePort(v))
    .option("-H, --host <host>", "interface to bind (dev default 127.0.0.1)")
    .option("--allow-dev-token", "dev profile: serve the well-known admin token on a non-loopback --host anyway (not recommended)")
    .action(async (opts: StartOptions) => {
      await runStart(opts);
    });
}

/**
 * `mcp-gateway start ...` without the operator commands: the console (node:repl, node:vm), doctor and the
 * admin client are never loaded into a running gateway (start-up RSS, docs/adr/0200-memory-per-idle-session.md).
 * Returns the exit code like runCli.
 */
export async function runStartCli(args: string[]): Promise<number> {
  const { Command, CommanderError } = requireForgettable<typeof Commander>("commander");
  const program = new Command("mcp-gateway").exitOverride();
  addStartCommand(program).exitOverride();
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  // The gateway listens (runStart returned): what only start-up needed can go.
  settleStartup();
  return 0;
}
