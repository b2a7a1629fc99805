import { releaseConfigSchemas } from "../config/index.js";
import { forgetPackage } from "../lazy-packages.js";
import { collectStartupGarbage, releaseAfterLoading } from "./startup-heap.js";
import { capYoungGeneration } from "./young-generation.js";

/**
 * Once `mcp-gateway start` listens: drops what only start-up needed, zod and the config schemas (a runtime config
 * change loads them again), yaml (read the config file; a YAML pin file loads it again) and commander (parsed the
 * command line), gives V8 back its defaults (young-generation growth, TurboFan) with the young generation capped at 4 MB
 * (young-generation.ts), and collects the garbage of loading so its pages leave the RSS
 * (docs/adr/0200-memory-per-idle-session.md, start-up and item 15).
 */
export function settleStartup(): void {
  releaseConfigSchemas();
  forgetPackage("yaml");
  forgetPackage("commander");
  releaseAfterLoading();
  capYoungGeneration();
  collectStartupGarbage();
}
