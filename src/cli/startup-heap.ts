import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Loading the gateway's modules (config schemas, logger, metrics, listeners) is one burst in which most of what is
// allocated survives, so V8 doubles the young generation at nearly every scavenge: it ends at 16 MB committed
// (2 x 8 MB semi-spaces), ~11 MB of RSS that an idle gateway never needs again. Holding the growth factor at 1
// while the modules load keeps the young generation at its initial 1 MB semi-space; once the gateway listens the
// default factor is back, so traffic grows it exactly as before (the relay's hot path is not affected)
// (docs/adr/0200-memory-per-idle-session.md, start-up). Set at run time, so `node bin/mcp-gateway.js start` and
// `npm start` get it without NODE_OPTIONS; an operator's own --semi-space-growth-factor is left alone.
const FLAG = "--semi-space-growth-factor";
/** V8's default (node --v8-options). */
const DEFAULT_GROWTH_FACTOR = 2;

let held = false;

/** Keeps the young generation at its initial size while the gateway loads (call before importing it). */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): void {
  if (held || operatorSetGrowth(execArgv, nodeOptions)) return;
  setFlagsFromString(`${FLAG}=1`);
  held = true;
}

/** Gives V8 back its default young-generation growth (once the gateway listens). */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`${FLAG}=${DEFAULT_GROWTH_FACTOR}`);
  held = false;
}

function operatorSetGrowth(execArgv: readonly string[], nodeOptions: string): boolean {
  const set = (s: string) => s.includes("semi-space-growth-factor") || s.includes("semi_space_growth_factor");
  return execArgv.some(set) || set(nodeOptions);
}

/**
 * One full GC once the gateway listens and has dropped what only start-up needed (zod, the config schemas, the
 * command line): an idle gateway allocates almost nothing, so V8 would not run a major GC for a long time and the
 * garbage of loading (~3-5 MB of old space) would stay resident. Measured at ~10-20 ms, once, before the first
 * client. `gc` comes from a throw-away context (V8 exposes it only to contexts created while --expose-gc is on),
 * and the flag is switched off again.
 */
export function collectStartupGarbage(): void {
  const t0 = performance.now();
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    setFlagsFromString("--expose-gc");
    try {
      gc = runInNewContext("gc") as () => void;
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  }
  // Twice: the first GC measures how full each old-space page is, the second evacuates the sparse ones so their
  // pages go back to the system (one GC alone leaves ~6 MB committed in pages the loading garbage thinned out).
  gc();
  gc();
  if (process.env.GC_TIMING) console.error(`startup gc ${(performance.now() - t0).toFixed(1)} ms`);
}
