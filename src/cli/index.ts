export { buildProgram, runCli, processIo } from "./program.js";
export { AdminClient, AdminError, resolveTarget, DEFAULT_URL, type AdminTarget } from "./admin-client.js";
export { diagnose, walkTree, THRESHOLDS, type Finding, type Diagnosis } from "./doctor.js";
export { consoleApi } from "./console-api.js";
export { evaluate, consoleContext } from "./console.js";
export { render, table } from "./render.js";
export type { CliIo, CliState } from "./context.js";
