import type { Command } from "commander";
import { AdminClient, AdminError, resolveTarget } from "./admin-client.js";
import { render } from "./render.js";
import { palette, type Palette } from "./colour.js";

/** Where the CLI writes (process streams in production, buffers in tests). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: colour and progress lines apply (tests set it to check them). */
  isTTY?: boolean;
  /** Asks a question on the terminal and resolves with the answer (absent when not interactive). */
  ask?(question: string): Promise<string>;
}

/** Per-invocation state: the output and the exit code commands set. */
export interface CliState {
  io: CliIo;
  exitCode: number;
  env: NodeJS.ProcessEnv;
}

/** A command's own options as commander parsed them. */
export type CommandOptions = Record<string, string | number | boolean | undefined>;

/** Global options every operator command accepts. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** The admin client for a command, from its (global) options and the environment. */
export function clientFor(cmd: Command, state: CliState): AdminClient {
  const o = cmd.optsWithGlobals() as GlobalOptions;
  return new AdminClient(resolveTarget(o, state.env));
}

/** The colours of this invocation's stdout. */
export function coloursOf(state: CliState): Palette {
  return palette(state.io.isTTY, state.env);
}

/** Prints a result: JSON with --json, a human rendering otherwise. */
export function print<T>(cmd: Command, state: CliState, result: T, human?: (r: T) => string): void {
  const o = cmd.optsWithGlobals() as GlobalOptions;
  state.io.out(o.json ? JSON.stringify(result, null, 2) : human ? human(result) : render(result, coloursOf(state)));
}

/** Turns a failure into a message and an exit code (1: the gateway said no, 2: unreachable). */
export function fail(state: CliState, err: unknown, url?: string): void {
  if (err instanceof AdminError) {
    state.io.err(`mcp-gateway: ${err.message} (HTTP ${err.status})`);
    state.exitCode = 1;
    return;
  }
  const e = err as Error & { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } };
  if (e?.name === "TypeError" || e?.cause?.code === "ECONNREFUSED" || e?.name === "TimeoutError") {
    const why = e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message;
    state.io.err(`mcp-gateway: cannot reach the gateway${url ? ` at ${url}` : ""}: ${why} (is it running? systemctl status mcp-gateway)`);
    state.exitCode = 2;
    return;
  }
  state.io.err(`mcp-gateway: ${e?.message ?? String(err)}`);
  state.exitCode = 1;
}

/**
 * Wraps an operator command: builds the client, runs `fn`, prints its result.
 * The command's own Command object is commander's last action argument.
 */
export function action<T>(state: CliState, fn: (client: AdminClient, args: string[], opts: CommandOptions, cmd: Command) => Promise<T>, human?: (r: T) => string) {
  return async (...argv: unknown[]) => {
    const cmd = argv[argv.length - 1] as Command;
    const opts = argv[argv.length - 2] as CommandOptions;
    const args = argv.slice(0, -2) as string[];
    const client = clientFor(cmd, state);
    try {
      const result = await fn(client, args, opts, cmd);
      if (result !== undefined) print(cmd, state, result, human);
    } catch (err) {
      fail(state, err, client.target.url);
    }
  };
}
