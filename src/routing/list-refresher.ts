import type { UpstreamGroup } from "../upstream/manager.js";
import { log } from "../telemetry/channels.js";

/** The four federated list kinds and the result key each list method returns. */
export const LIST_KINDS = {
  tools: { method: "tools/list", key: "tools", capability: "tools", notification: "notifications/tools/list_changed" },
  prompts: { method: "prompts/list", key: "prompts", capability: "prompts", notification: "notifications/prompts/list_changed" },
  resources: { method: "resources/list", key: "resources", capability: "resources", notification: "notifications/resources/list_changed" },
  templates: { method: "resources/templates/list", key: "resourceTemplates", capability: "resources", notification: "notifications/resources/list_changed" },
} as const;
export type ListKind = keyof typeof LIST_KINDS;

/** Every list kind, in a fixed order. */
export const ALL_LIST_KINDS = Object.keys(LIST_KINDS) as ListKind[];

/** One listed tool, prompt, resource or resource template, as the upstream sent it. */
export type ListItem = Record<string, unknown> & { name?: string; uri?: string; uriTemplate?: string };

/** Fresh lists of one upstream: only the kinds that were fetched successfully. */
export type FetchedLists = Partial<Record<ListKind, ListItem[]>>;

interface UpstreamRefresh {
  /** Kinds asked for since the running round started. */
  wanted: Set<ListKind>;
  /** The loop serving `wanted`; resolves once nothing is wanted any more. */
  running?: Promise<void>;
}

/** Pages fetched per list at most: an upstream that always returns a cursor cannot loop us forever. */
const MAX_PAGES = 100;

/** How long one list request may run in the background (a late answer is still merged). */
const LIST_REQUEST_TIMEOUT_MS = 30_000;

/** When a round of one upstream runs past the list timeout (ADR 0210). */
export interface ListTimeouts {
  /** routing.list_timeout, read per round (runtime-changeable). */
  timeoutMs(): number;
  /** `upstream` became stale (a round ran past the list timeout, or failed): its last good lists are served meanwhile. */
  onStale?(upstream: string, afterMs: number, reason: "timeout" | "failed"): void;
  /** A stale `upstream` answered a whole round again. */
  onSettled?(upstream: string, afterMs: number): void;
}

/**
 * Fetches upstream lists and hands each round's results to `apply`.
 *
 * Refreshes of one upstream never overlap: a request arriving while a round
 * runs (an upstream sending `list_changed` right after `initialized`, during
 * the start-up refresh) is folded into one follow-up round, because the
 * running round may already have read the old list. Each round reports only
 * the kinds it fetched successfully, so the catalog never loses kinds it did
 * not refresh and keeps the last good list of a kind whose fetch failed.
 */
export class ListRefresher {
  readonly #byUpstream = new Map<string, UpstreamRefresh>();

  /** Upstreams whose lists are stale: the last round ran past the list timeout or did not fetch every kind. */
  readonly #stale = new Set<string>();
  /** Times an upstream became stale (gateway_upstream_list_timeouts_total). */
  readonly timeouts = new Map<string, number>();

  constructor(
    readonly apply: (group: UpstreamGroup, fetched: FetchedLists) => void | Promise<void>,
    readonly limits?: ListTimeouts,
  ) {}

  /** True while `upstream`'s lists are stale (its last good lists are served): see #watched. */
  isStale(upstream: string): boolean {
    return this.#stale.has(upstream);
  }

  /** Refreshes `kinds` of `group`; resolves once a round that started after this call has fetched them. */
  refresh(group: UpstreamGroup, kinds: readonly ListKind[]): Promise<void> {
    let state = this.#byUpstream.get(group.name);
    if (!state) this.#byUpstream.set(group.name, (state = { wanted: new Set() }));
    for (const kind of kinds) state.wanted.add(kind);
    state.running ??= this.#loop(group, state);
    return state.running;
  }

  async #loop(group: UpstreamGroup, state: UpstreamRefresh): Promise<void> {
    try {
      while (state.wanted.size > 0) {
        const kinds = [...state.wanted];
        state.wanted.clear();
        const fetched = await this.#watched(group, kinds, this.#fetch(group, kinds));
        // Awaited: an async apply (the integrity review) finishes before the next round starts.
        await this.apply(group, fetched);
      }
    } finally {
      state.running = undefined;
    }
  }

  /**
   * Awaits one round's fetch. The upstream is flagged stale when the round
   * runs past the list timeout or ends without every kind it asked for, and
   * unflagged by the first round that fetched everything it asked for.
   */
  async #watched(group: UpstreamGroup, kinds: ListKind[], fetch: Promise<FetchedLists>): Promise<FetchedLists> {
    const limits = this.limits;
    if (!limits) return fetch;
    const started = Date.now();
    const timer = setTimeout(() => this.#flag(group.name, Date.now() - started, "timeout"), limits.timeoutMs());
    // A stalled upstream must not hold the process open at shutdown.
    timer.unref();
    let fetched: FetchedLists = {};
    try {
      fetched = await fetch;
      return fetched;
    } finally {
      clearTimeout(timer);
      if (kinds.some((k) => fetched[k] === undefined)) this.#flag(group.name, Date.now() - started, "failed");
      else if (this.#stale.delete(group.name)) limits.onSettled?.(group.name, Date.now() - started);
    }
  }

  #flag(upstream: string, afterMs: number, reason: "timeout" | "failed"): void {
    if (this.#stale.has(upstream)) return;
    this.#stale.add(upstream);
    this.timeouts.set(upstream, (this.timeouts.get(upstream) ?? 0) + 1);
    this.limits?.onStale?.(upstream, afterMs, reason);
  }

  async #fetch(group: UpstreamGroup, kinds: ListKind[]): Promise<FetchedLists> {
    const fetched: FetchedLists = {};
    const connection = group.anyConnection();
    if (!connection) return fetched;
    const caps = connection.identity?.capabilities ?? {};
    await Promise.all(
      kinds.map(async (kind) => {
        const spec = LIST_KINDS[kind];
        if (!caps[spec.capability]) {
          fetched[kind] = [];
          return;
        }
        const items: ListItem[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < MAX_PAGES; page++) {
          const result = await connection.request(spec.method, cursor ? { cursor } : {}, LIST_REQUEST_TIMEOUT_MS).catch((err: Error) => {
            log("warn", "MCP.Routing", `${spec.method} failed on ${group.name}: ${err.message}`, { upstream: group.name });
            return undefined;
          });
          // A failed fetch reports nothing for this kind: the catalog keeps its last good list.
          if (!result) return;
          const batch = result[spec.key];
          if (Array.isArray(batch)) items.push(...(batch as ListItem[]));
          cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
          if (!cursor) break;
        }
        fetched[kind] = items;
      }),
    );
    return fetched;
  }
}
