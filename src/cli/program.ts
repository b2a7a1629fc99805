import { createInterface } from "node:readline/promises";
import { Command, CommanderError } from "commander";
import { VERSION } from "../gateway.js";
import { addStartCommand } from "./start-command.js";
import { addOperatorCommands } from "./commands.js";
import { addConsoleCommand, defaultOut } from "./console.js";
import { addDoctorCommand } from "./doctor.js";
import { addToolsCommands } from "./tools-commands.js";
import type { CliIo, CliState } from "./context.js";

/** The process streams; questions are asked on stderr so stdout stays the answer. */
export const processIo: CliIo = {
  out: defaultOut,
  err: (t) => void process.stderr.write(t + "\n"),
  isTTY: process.stdout.isTTY === true,
  ask: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      }
    : undefined,
};

/**
 * `mcp-gateway`: `start` runs the gateway; every other command talks to a
 * running gateway's admin API (`--url`, `--token`, or MCP_GATEWAY_URL /
 * MCP_GATEWAY_ADMIN_TOKEN; dev defaults http://127.0.0.1:4000 and admin-token).
 */
export function buildProgram(state: CliState = { io: processIo, exitCode: 0, env: process.env }): Command {
  const program = new Command("mcp-gateway")
    .description("MCP Gateway: one endpoint in front of many MCP servers")
    .version(VERSION)
    .option("--url <url>", "admin API of the running gateway (env MCP_GATEWAY_URL; default http://127.0.0.1:4000)")
    .option("--token <token>", "admin token (env MCP_GATEWAY_ADMIN_TOKEN; dev default admin-token)")
    .option("--json", "print JSON instead of tables")
    .configureOutput({ writeOut: (s) => state.io.out(s.replace(/\n$/, "")), writeErr: (s) => state.io.err(s.replace(/\n$/, "")) });
  addStartCommand(program);
  addOperatorCommands(program, state);
  addToolsCommands(program, state);
  addConsoleCommand(program, state);
  addDoctorCommand(program, state);
  return program;
}

/**
 * Runs one CLI invocation and returns its exit code instead of exiting
 * (tests run commands in-process with a buffer for `io`).
 */
export async function runCli(args: string[], io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const state: CliState = { io, exitCode: 0, env };
  const program = buildProgram(state);
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    for (const sub of cmd.commands) exitOverride(sub);
  };
  exitOverride(program);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return state.exitCode;
}
