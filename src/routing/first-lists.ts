import type { UpstreamManager } from "../upstream/manager.js";
import type { Catalog } from "./catalog.js";
import { log } from "../telemetry/channels.js";

/** How each upstream's first lists went at start-up. */
export type FirstListOutcome = "listed" | "stale" | "unreachable" | "still_connecting";

/** What start-up waited for, and how long (the bench reports `ms` as the time to the first full list). */
export interface FirstListReport {
  ms: number;
  outcomes: Record<string, FirstListOutcome>;
}

/**
 * Starts every upstream at once and waits for their first lists, bounded so
 * that one stalled upstream cannot hold the gateway closed (ADR 0210):
 *
 * - an upstream that handshook gets `listTimeoutMs` for its lists; past that
 *   it is flagged stale (the catalog logs it) and the gateway opens without it;
 * - an upstream still handshaking is waited for while any other upstream
 *   makes progress, and then half as long again as the start-up took so far
 *   (at least `listTimeoutMs`). Its own handshake timeout is far longer (60 s
 *   for the stdio probe), and a slow spawn on a loaded machine must not be
 *   cut off by a bound meant for lists; "the others are done, and long ago"
 *   is the signal that it is the odd one out. With no other upstream listed
 *   yet, nothing is cut off (a single slow upstream is waited for, as before).
 *
 * Whatever is not waited for carries on in the background: a late handshake
 * or a late list is merged and announced with `list_changed`.
 */
export async function startAndListFirst(manager: UpstreamManager, catalog: Catalog, listTimeoutMs: () => number): Promise<FirstListReport> {
  const started = Date.now();
  const groups = [...manager.groups.values()];
  const outcomes: Record<string, FirstListOutcome> = {};
  const starting = manager.start();
  let connecting = groups.length;
  let listing = 0;
  let listed = 0;
  let releaseStragglers!: () => void;
  const stragglersReleased = new Promise<void>((resolve) => (releaseStragglers = resolve));
  let quiet: NodeJS.Timeout | undefined;
  // Re-armed on every step. Runs out once nothing but handshakes is left and nothing moved for half as
  // long as the start-up so far took (at least a list timeout): on a loaded machine twenty children
  // finish spawning over a spread of seconds, but not half the whole start-up after all the others.
  const rearm = () => {
    clearTimeout(quiet);
    if (listed > 0 && listing === 0 && connecting > 0) {
      quiet = setTimeout(releaseStragglers, Math.max(listTimeoutMs(), (Date.now() - started) / 2));
      quiet.unref();
    }
  };
  const bound = (ms: number) => new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref());

  await Promise.all(
    groups.map(async (group) => {
      const connected = manager.firstAttempt(group.name).then(() => "connected" as const);
      const first = await Promise.race([connected, stragglersReleased.then(() => "released" as const)]);
      connecting--;
      if (first === "released") {
        outcomes[group.name] = "still_connecting";
        log("warn", "MCP.Routing", `start-up goes on without ${group.name}: still connecting ${Date.now() - started} ms after start, the other upstreams are listed; its lists are merged once it answers`, { upstream: group.name, list_stale: true });
        // Refreshed when it gets there (the replica's onReady fires during start-up too early to refresh itself).
        void connected.then(() => group.anyConnection() && catalog.refresh(group));
        return rearm();
      }
      if (!group.anyConnection()) {
        outcomes[group.name] = "unreachable";
        return rearm();
      }
      listing++;
      rearm();
      const outcome = await Promise.race([catalog.refresh(group).then(() => "listed" as const), bound(listTimeoutMs())]);
      listing--;
      if (outcome === "listed" && !catalog.isStale(group.name)) {
        outcomes[group.name] = "listed";
        listed++;
      } else outcomes[group.name] = "stale";
      rearm();
    }),
  );
  clearTimeout(quiet);
  // The replicas' first attempts keep running for the stragglers; nothing else awaits them.
  void starting.catch(() => {});
  return { ms: Date.now() - started, outcomes };
}
