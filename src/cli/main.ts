/** The `mcp-gateway` executable (bin/mcp-gateway.js loads the compiled copy). */
import { holdWhileLoading } from "./startup-heap.js";

const args = process.argv.slice(2);
// Before the gateway's modules load (the one static import above is small): see startup-heap.ts.
if (args[0] === "start") holdWhileLoading();
// `start` loads only what running the gateway needs; every other command (and `--help`) the whole CLI.
const code = args[0] === "start" ? await (await import("./start-command.js")).runStartCli(args) : await (await import("./program.js")).runCli(args);
// `start` keeps the process alive on its own; operator commands end with their exit code.
if (code !== 0) process.exitCode = code;
