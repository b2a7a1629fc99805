import { runCli } from "./program.js";

/** The `mcp-gateway` executable (bin/mcp-gateway.js loads the compiled copy). */
const code = await runCli(process.argv.slice(2));
// `start` keeps the process alive on its own; operator commands end with their exit code.
if (code !== 0) process.exitCode = code;
