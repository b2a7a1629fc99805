import vm from "node:vm";
import repl from "node:repl";
import { inspect } from "node:util";
import type { Command } from "commander";
import { clientFor, type CliState } from "./context.js";
import { consoleApi } from "./console-api.js";
import { AdminError } from "./admin-client.js";

/** A sandbox holding the guide's modules (Gateway, CircuitBreaker, ...) bound to one gateway. */
export function consoleContext(api: ReturnType<typeof consoleApi>): vm.Context {
  return vm.createContext({ ...api, console, JSON, Math, Date });
}

/** `const x = ...`, `let x = ...`, `var x = ...` at the start of a line: a console variable. */
const DECLARATION = /^(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*([\s\S]+)$/;

/**
 * Evaluates one line of console input and awaits its result, so
 * `Gateway.status()` prints the status rather than a pending Promise and
 * `Gateway.status().status` reads through it. The guide's `iex> ` prompt
 * prefix is accepted and ignored. A declaration (`const s = Gateway.status()`)
 * stores the awaited value in the console's context, so later lines see `s`;
 * plain assignments (`s = ...`) do the same.
 */
export async function evaluate(code: string, context: vm.Context): Promise<unknown> {
  const src = code.trim().replace(/^iex>\s*/, "").replace(/;+\s*$/, "");
  if (!src || src.startsWith("//") || src.startsWith("#")) return undefined;
  const decl = DECLARATION.exec(src);
  if (decl) {
    const value = await evaluate(decl[2]!, context);
    (context as Record<string, unknown>)[decl[1]!] = value;
    return undefined;
  }
  let script: vm.Script;
  try {
    // Not strict, so `x = 1` assigns a context global that the next line sees.
    script = new vm.Script(`(async () => (${src}\n))()`, { filename: "console" });
  } catch {
    script = new vm.Script(`(async () => { ${src}\n })()`, { filename: "console" });
  }
  return await script.runInContext(context);
}

function show(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "undefined";
}

function errorText(err: unknown): string {
  if (err instanceof AdminError) return `** (${err.body?.error ?? "error"}) ${err.body?.message ?? err.message} [HTTP ${err.status}]`;
  return `** (${(err as Error)?.name ?? "Error"}) ${(err as Error)?.message ?? String(err)}`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `mcp-gateway console`: a REPL where the guide's IEx lines work in
 * JavaScript form. Non-interactive: `--eval '<expr>'` (repeatable), or lines
 * piped on stdin, each printed as JSON; the exit code is 1 if any line failed.
 */
export function addConsoleCommand(program: Command, state: CliState): void {
  program
    .command("console")
    .description("interactive console: Gateway.status(), CircuitBreaker.get_states(\"mcp_gateway\"), ... (help() lists them)")
    .option("-e, --eval <code>", "evaluate and print, then exit (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .action(async (opts: { eval?: string[] }, cmd: Command) => {
      const client = clientFor(cmd, state);
      const context = consoleContext(consoleApi(client));
      const runLines = async (lines: string[]) => {
        for (const line of lines) {
          try {
            const result = await evaluate(line, context);
            if (result !== undefined) state.io.out(typeof result === "string" ? result : show(result));
          } catch (err) {
            state.io.err(errorText(err));
            state.exitCode = 1;
          }
        }
      };
      if (opts.eval?.length) return runLines(opts.eval);
      if (!process.stdin.isTTY && state.io.out === defaultOut) return runLines((await readStdin()).split("\n"));
      state.io.out(`mcp-gateway console: ${client.target.url} (help() lists the commands; every call is awaited)`);
      const server = repl.start({
        prompt: "mcp-gateway> ",
        eval: (cmdText, _ctx, _file, cb) => {
          evaluate(cmdText, context).then(
            (r) => cb(null, r),
            (err) => (err instanceof SyntaxError && /end of input/.test(err.message) ? cb(new repl.Recoverable(err), undefined) : cb(null, errorText(err))),
          );
        },
        writer: (v) => (typeof v === "string" ? v : inspect(v, { depth: 8, colors: process.stdout.isTTY })),
      });
      await new Promise<void>((resolve) => server.on("exit", () => resolve()));
    });
}

/** The process stdout writer (interactive mode only applies to the real terminal). */
export const defaultOut = (text: string) => void process.stdout.write(text + "\n");
