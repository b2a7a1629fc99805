import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// Two V8 defaults cost an idle gateway ~16 MB of RSS for work done only while its ~250 modules load
// (docs/adr/0200-memory-per-idle-session.md, start-up):
// - the young generation: loading is one burst in which most of what is allocated survives, so V8 doubles the
//   semi-space at nearly every scavenge and ends at 16 MB committed (2 x 8 MB), ~11 MB an idle gateway never needs.
//   Growth factor 1 while loading keeps it at its initial 1 MB semi-space.
// - TurboFan: the module loader's own functions (path normalisation, URL getters) get hot and are optimised, which
//   pages in ~4 MB of the compiler's code from the node binary and ~1.5 MB of its working memory. Held off while
//   loading, the loader runs in the baseline tiers.
// Both go back to V8's defaults once the gateway listens, so traffic grows the young generation and optimises the
// relay's hot path exactly as before. Set at run time, so `node bin/mcp-gateway.js start` and `npm start` get it
// without NODE_OPTIONS; a setting the operator chose (on the command line or in NODE_OPTIONS) is left alone.
const HELD = [
  { hold: "--semi-space-growth-factor=1", release: "--semi-space-growth-factor=2", operatorFlags: ["semi-space-growth-factor", "semi_space_growth_factor"] },
  { hold: "--no-turbofan", release: "--turbofan", operatorFlags: ["turbofan", "-opt", "_opt", "jitless"] },
];

let held: typeof HELD = [];

/** Whether the operator set any of these V8 flags themselves, on the command line or in NODE_OPTIONS. */
export function operatorSetFlag(flags: readonly string[], execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): boolean {
  const operator = [...execArgv, nodeOptions].join(" ");
  return flags.some((f) => operator.includes(f));
}

/** Holds young-generation growth and TurboFan while the gateway loads (call before importing it). */
export function holdWhileLoading(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): void {
  if (held.length > 0) return;
  held = HELD.filter((h) => !operatorSetFlag(h.operatorFlags, execArgv, nodeOptions));
  for (const h of held) setFlagsFromString(h.hold);
}

/** Gives V8 back its defaults (once the gateway listens). */
export function releaseAfterLoading(): void {
  for (const h of held) setFlagsFromString(h.release);
  held = [];
}

/**
 * One full GC once the gateway listens and has dropped what only start-up needed (zod, the config schemas, the
 * command line): an idle gateway allocates almost nothing, so V8 would not run a major GC for a long time and the
 * garbage of loading would stay resident. 50-100 ms once, before the first client. `gc` comes from a throw-away
 * context (V8 exposes it only to contexts created while --expose-gc is on), and the flag is switched off again.
 */
export function collectStartupGarbage(): void {
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
}
