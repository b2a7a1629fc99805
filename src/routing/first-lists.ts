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
 * - an upstream still handshaking (spawning, initializing) is waited for up to
 *   `startupTimeoutMs` after start (routing.startup_timeout) once the others
 *   are listed: a slow spawn on a loaded machine (server-everything takes
 *   seconds under load) must not be cut off by a bound meant for lists, and
 *   one that never answers must not keep the gateway closed. With no other
 *   upstream listed yet, nothing is cut off: its own handshake timeout decides.
 *
 * Whatever is not waited for carries on in the background: a late handshake
 * or a late list is merged and announced with `list_changed`.
 */
export async function startAndListFirst(manager: UpstreamManager, catalog: Catalog, listTimeoutMs: () => number, startupTimeoutMs: number): Promise<FirstListReport> {
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
  // Armed once nothing but handshakes is left: the stragglers get what remains of the start-up bound.
  const rearm = () => {
    clearTimeout(quiet);
    if (listed > 0 && listing === 0 && connecting > 0) {
      quiet = setTimeout(releaseStragglers, Math.max(0, startupTimeoutMs - (Date.now() - started)));
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
        log("warn", "MCP.Routing", `start-up goes on without ${group.name}: still connecting ${Date.now() - started} ms after start (routing.startup_timeout), the other upstreams are listed; its lists are merged once it answers`, { upstream: group.name, list_stale: true });
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
