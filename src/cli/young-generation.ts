import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { operatorSetFlag } from "./startup-heap.js";

/**
 * The young generation's cap: new space (both semi-spaces) may grow to 4 MB, a 2 MB semi-space, and no further.
 *
 * V8 doubles the semi-space whenever more bytes survived scavenges since its last growth than it holds, up to 16 MB
 * (32 MB of new space, all of it resident once used). A burst of connections is exactly that: every session's objects
 * survive, so 2,000 sessions opened in a few seconds left 30.8 MB of new space committed on an idle gateway,
 * 15 KB of RSS per session at 2,000 (ADR 0200, item 15). A relay's garbage is short-lived (a call's objects die
 * within the call), so a small nursery costs it nothing: CPU per relayed call with a 2 MB semi-space against V8's
 * default, interleaved rounds, was 1.00-1.03x at c = 10 and c = 50 on every upstream kind (1 MB cost up to 1.11x).
 *
 * V8 fixes the maximum when the heap is set up (`--max-semi-space-size` on the command line only), but reads
 * `--semi-space-growth-factor` at every growth: after each GC the growth factor is set to 2 while new space is below
 * the cap and to 1 (no growth) once it is there. A growth needs more survivors than the space holds since the last
 * one, so it cannot happen twice between two GCs' callbacks except inside one long synchronous task; if it does, the
 * space is larger than the cap, never unbounded (V8's own maximum still holds), and V8 shrinks it when allocation is
 * slow. An operator's own `--max-semi-space-size` or `--semi-space-growth-factor` switches this off.
 */
export const NEW_SPACE_CAP_BYTES = 4 * 1024 * 1024;

const OPERATOR_FLAGS = ["max-semi-space-size", "max_semi_space_size", "semi-space-growth-factor", "semi_space_growth_factor"];

let observer: PerformanceObserver | undefined;
let growing: boolean | undefined;
let activeCap: number | undefined;

/** The cap in force (bytes of new space), or undefined: not capped (a library embedding, or the operator sized it). */
export function youngGenerationCap(): number | undefined {
  return activeCap;
}

/** V8's new space (both semi-spaces) as it is now. */
export function newSpaceBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === "new_space") return s.space_size;
  return 0;
}

function steer(cap: number): void {
  const grow = newSpaceBytes() < cap;
  if (grow === growing) return;
  growing = grow;
  setFlagsFromString(grow ? "--semi-space-growth-factor=2" : "--semi-space-growth-factor=1");
}

/** Keeps new space at most `cap` bytes from now on (see above); idempotent. Returns false if the operator sized it. */
export function capYoungGeneration(cap = NEW_SPACE_CAP_BYTES, execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ""): boolean {
  if (operatorSetFlag(OPERATOR_FLAGS, execArgv, nodeOptions)) return false;
  if (observer) return true;
  activeCap = cap;
  steer(cap);
  observer = new PerformanceObserver(() => steer(cap));
  observer.observe({ entryTypes: ["gc"] });
  return true;
}
