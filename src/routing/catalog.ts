import type { UpstreamManager, UpstreamGroup } from "../upstream/manager.js";
import { log } from "../telemetry/channels.js";
import { ALL_LIST_KINDS, LIST_KINDS, ListRefresher, type FetchedLists, type ListItem, type ListKind } from "./list-refresher.js";
import { shortenName } from "../integrity/name-shortener.js";

export { LIST_KINDS, type ListKind } from "./list-refresher.js";

/** Where an exposed name leads. */
export interface Target {
  upstream: string;
  name: string;
  /** The item as its upstream listed it (its schema, e.g. the `x-mcp-header` declarations the modern edge checks). */
  definition?: ListItem;
}

type Item = ListItem;
/** A catalog item as an upstream listed it. */
export type CatalogItem = Item;
/** Filters one upstream's freshly fetched list of one kind (the integrity layer's seam). */
export type ListReview = (group: UpstreamGroup, kind: ListKind, items: CatalogItem[]) => CatalogItem[] | Promise<CatalogItem[]>;
export type PrefixMode = "always" | "conditional" | "never";

/** Separator between the upstream name and the item name. */
export const NAMESPACE_SEPARATOR = "__";

/** The kinds whose change one notification announces (templates ride on resources). */
const NOTIFIED_KINDS: ReadonlyArray<{ kind: ListKind; covers: ListKind[] }> = [
  { kind: "tools", covers: ["tools"] },
  { kind: "prompts", covers: ["prompts"] },
  { kind: "resources", covers: ["resources", "templates"] },
];

/**
 * The federated view of every upstream's tools, prompts and resources.
 * Lists are fetched when a replica becomes ready and when it says
 * `list_changed`, then merged once; answering `tools/list` or routing a
 * `tools/call` is a map lookup, never a round trip.
 *
 * Names are a function of configuration and of what upstreams offer, never of
 * health: a down upstream's lists are kept (hidden from `list()`, still
 * counted when names collide, still routable so its calls answer
 * `upstream_unavailable` instead of `tool_not_found`). Hiding and showing it
 * changes the listed view, which emits one `list_changed` per kind.
 */
export class Catalog {
  /** Last good lists of every upstream seen, also while it is down. */
  readonly #lists = new Map<string, Partial<Record<ListKind, Item[]>>>();
  /** Upstreams with no ready replica (past the grace): their items are not listed. */
  readonly #hidden = new Set<string>();
  readonly #refresher: ListRefresher;
  readonly #dropTimers = new Map<string, NodeJS.Timeout>();
  #tools = new Map<string, Target>();
  #prompts = new Map<string, Target>();
  #resources = new Map<string, string>();
  #templates: Array<{ prefix: string; upstream: string }> = [];
  #merged: Partial<Record<ListKind, Item[]>> = {};
  #prefixMode: PrefixMode;
  /** Collisions found under prefix `never` (reported by health). */
  collisions: string[] = [];
  /**
   * Listeners told once per notification kind (tools, prompts, resources)
   * whose listed view changed: the relay's legacy broadcast, the resilience
   * layer's caches, the modern listen streams. Many listeners, called in the
   * order they subscribed; one that throws does not keep the others from
   * hearing (the order of install calls is no longer load-bearing).
   */
  readonly #changeListeners = new Set<(kind: ListKind) => void>();
  /** Reviews each freshly fetched list before it is kept (src/integrity/: pins, scan); returns what may be exposed. */
  review?: ListReview;
  #maxNameLength = 64;

  constructor(
    readonly manager: UpstreamManager,
    prefixMode: PrefixMode,
    /** routing.list_timeout (read per refresh); without it nothing is flagged stale. */
    listTimeoutMs?: () => number,
  ) {
    this.#prefixMode = prefixMode;
    this.#refresher = new ListRefresher(async (group, fetched) => this.#apply(group, await this.#reviewed(group, fetched)), listTimeoutMs && {
      timeoutMs: listTimeoutMs,
      onStale: (upstream, afterMs, reason) => {
        const kept = this.#lists.get(upstream);
        const what = kept ? `its last good lists (${kept.tools?.length ?? 0} tools)` : "nothing from it yet";
        const why = reason === "timeout" ? `unanswered after ${afterMs} ms (routing.list_timeout)` : `not fetched (a list request failed or no connection)`;
        log("warn", "MCP.Routing", `lists of ${upstream} ${why}: serving ${what}`, { upstream, list_stale: true });
      },
      onSettled: (upstream, afterMs) => log("info", "MCP.Routing", `lists of ${upstream} answered again after ${afterMs} ms`, { upstream, list_stale: false }),
    });
  }

  /** True while an upstream's lists are stale: a refresh ran past routing.list_timeout or failed (gateway_upstream_list_stale). */
  isStale(upstream: string): boolean {
    return this.#refresher.isStale(upstream);
  }

  /** Times each upstream's lists went stale (gateway_upstream_list_timeouts_total). */
  staleCounts(): ReadonlyMap<string, number> {
    return this.#refresher.timeouts;
  }

  /** Subscribes to merged-list changes; returns the unsubscribe. */
  onListChanged(listener: (kind: ListKind) => void): () => void {
    // A wrapper per subscription: the same function subscribed twice is two listeners, removed one at a time.
    const entry = (kind: ListKind) => listener(kind);
    this.#changeListeners.add(entry);
    return () => void this.#changeListeners.delete(entry);
  }

  /** Number of change listeners (tests, diagnostics). */
  get listChangedListeners(): number {
    return this.#changeListeners.size;
  }

  #emitChanged(kind: ListKind): void {
    for (const listener of [...this.#changeListeners]) {
      try {
        listener(kind);
      } catch (err) {
        log("error", "MCP.Catalog", `a list_changed listener failed: ${(err as Error)?.stack ?? err}`);
      }
    }
  }

  /** `routing.prefix`; changing it renames items, which clients hear as `list_changed`. */
  get prefixMode(): PrefixMode {
    return this.#prefixMode;
  }

  set prefixMode(mode: PrefixMode) {
    if (mode === this.#prefixMode) return;
    this.#prefixMode = mode;
    this.#rebuildAndNotify();
  }

  /**
   * Fetches `kinds` of one upstream (all pages) and re-merges. Overlapping
   * refreshes of one upstream coalesce (see ListRefresher); kinds not
   * refreshed, and kinds whose fetch failed, keep their last good lists.
   */
  refresh(group: UpstreamGroup, kinds: readonly ListKind[] = ALL_LIST_KINDS): Promise<void> {
    return this.#refresher.refresh(group, kinds);
  }

  /** Longest exposed name (routing.max_name_length): longer or client-unsafe names are shortened (src/integrity/name-shortener.ts). */
  get maxNameLength(): number {
    return this.#maxNameLength;
  }

  set maxNameLength(limit: number) {
    if (limit === this.#maxNameLength) return;
    this.#maxNameLength = limit;
    this.#rebuildAndNotify();
  }

  async #reviewed(group: UpstreamGroup, fetched: FetchedLists): Promise<FetchedLists> {
    if (!this.review) return fetched;
    const out: FetchedLists = {};
    await Promise.all(ALL_LIST_KINDS.map(async (kind) => fetched[kind] !== undefined && (out[kind] = await this.review!(group, kind, fetched[kind]!))));
    return out;
  }

  #apply(group: UpstreamGroup, fetched: FetchedLists): void {
    const lists = this.#lists.get(group.name) ?? {};
    for (const kind of ALL_LIST_KINDS) if (fetched[kind] !== undefined) lists[kind] = fetched[kind];
    this.#lists.set(group.name, lists);
    // Fetched from a live connection: the upstream is back (unless it went down while we listed).
    if (group.ready().length > 0) {
      clearTimeout(this.#dropTimers.get(group.name));
      this.#dropTimers.delete(group.name);
      this.#hidden.delete(group.name);
    }
    this.#rebuildAndNotify();
  }

  /** The merged list of a kind, limited to upstreams that are not down. */
  list(kind: ListKind): Item[] {
    return this.#merged[kind] ?? [];
  }

  /**
   * The caching hints (SEP-2549 `ttlMs`/`cacheScope`) modern upstreams put on
   * their last answer to this kind's list method, one per upstream that gave
   * one; legacy upstreams give none. The modern edge merges them (shortest
   * ttl, private if any is private) into the hint of the federated list.
   */
  upstreamHints(kind: ListKind): Array<{ upstream: string; ttlMs: number; cacheScope: "public" | "private" }> {
    const out: Array<{ upstream: string; ttlMs: number; cacheScope: "public" | "private" }> = [];
    for (const group of this.manager.groups.values()) {
      const hint = group.anyConnection()?.cacheHint(LIST_KINDS[kind].method);
      if (hint) out.push({ upstream: group.name, ...hint });
    }
    return out;
  }

  resolveTool(exposed: string): Target | undefined {
    return this.#tools.get(exposed);
  }

  resolvePrompt(exposed: string): Target | undefined {
    return this.#prompts.get(exposed);
  }

  /** True when an upstream listed this exact URI in resources/list. */
  isListedResource(uri: string): boolean {
    return this.#resources.has(uri);
  }

  /**
   * Each upstream's items with the names clients see (`exposed`, after
   * prefixing and shortening) beside the upstream's own (`name`); `listed`
   * is false while the upstream is down (kept, not shown to clients). The
   * live console's upstream page reads it.
   */
  byUpstream(): Array<{ upstream: string; listed: boolean; tools: Array<{ exposed: string; name: string }>; prompts: Array<{ exposed: string; name: string }>; resources: string[]; templates: string[] }> {
    const out = new Map<string, ReturnType<Catalog["byUpstream"]>[number]>();
    for (const [upstream, lists] of this.#lists) {
      out.set(upstream, { upstream, listed: !this.#hidden.has(upstream), tools: [], prompts: [], resources: (lists.resources ?? []).map((r) => String(r.uri)), templates: (lists.templates ?? []).map((t) => String(t.uriTemplate)) });
    }
    for (const [exposed, t] of this.#tools) out.get(t.upstream)?.tools.push({ exposed, name: t.name });
    for (const [exposed, t] of this.#prompts) out.get(t.upstream)?.prompts.push({ exposed, name: t.name });
    return [...out.values()];
  }

  /** The upstream that owns a resource URI (listed, or matching a template). */
  resolveResource(uri: string): string | undefined {
    const owner = this.#resources.get(uri);
    if (owner) return owner;
    let best: { prefix: string; upstream: string } | undefined;
    for (const t of this.#templates) if (uri.startsWith(t.prefix) && (!best || t.prefix.length > best.prefix.length)) best = t;
    if (best) return best.upstream;
    // A single upstream serving resources owns every URI.
    const owners = [...this.manager.groups.values()].filter((g) => g.anyConnection()?.identity?.capabilities.resources);
    return owners.length === 1 ? owners[0]!.name : undefined;
  }

  /** The exposed name of an upstream's tool (for rewriting notifications and errors). */
  exposedToolName(upstream: string, name: string): string {
    for (const [exposed, t] of this.#tools) if (t.upstream === upstream && t.name === name) return exposed;
    return name;
  }

  /**
   * Hides an upstream's items `graceMs` from now unless a replica of it is
   * ready again by then: a respawning child (~300 ms) never blinks out of
   * clients' lists. Hidden or not, its names stay routable (calls wait for a
   * replica, bounded by pool.checkout_timeout, then answer upstream_unavailable).
   */
  dropUnlessBack(group: UpstreamGroup, graceMs: number): void {
    clearTimeout(this.#dropTimers.get(group.name));
    const timer = setTimeout(() => {
      this.#dropTimers.delete(group.name);
      if (group.ready().length === 0) this.drop(group.name);
    }, graceMs);
    timer.unref();
    this.#dropTimers.set(group.name, timer);
  }

  /** Hides an upstream's items from the lists (it has no ready replica); its names and routes stay. */
  drop(upstream: string): void {
    if (this.#hidden.has(upstream)) return;
    this.#hidden.add(upstream);
    this.#rebuildAndNotify();
  }

  #modeOf(upstream: string): PrefixMode {
    return this.manager.groups.get(upstream)?.config.prefix ?? this.#prefixMode;
  }

  /** Rebuilds, then notifies each kind whose listed view actually changed (once, however many kinds a round touched). */
  #rebuildAndNotify(): void {
    const before = NOTIFIED_KINDS.map(({ covers }) => JSON.stringify(covers.map((k) => this.#merged[k] ?? [])));
    this.#rebuild();
    NOTIFIED_KINDS.forEach(({ kind, covers }, i) => {
      if (JSON.stringify(covers.map((k) => this.#merged[k] ?? [])) !== before[i]) this.#emitChanged(kind);
    });
  }

  #rebuild(): void {
    this.collisions = [];
    const named = (kind: "tools" | "prompts") => {
      // Collisions count every known upstream, down ones too: a name never changes with health.
      const counts = new Map<string, string[]>();
      for (const [upstream, lists] of this.#lists) for (const item of lists[kind] ?? []) counts.set(item.name!, [...(counts.get(item.name!) ?? []), upstream]);
      const targets = new Map<string, Target>();
      const merged: Item[] = [];
      for (const [upstream, lists] of this.#lists) {
        const mode = this.#modeOf(upstream);
        for (const item of lists[kind] ?? []) {
          const owners = counts.get(item.name!)!;
          const prefixed = mode === "always" || (mode === "conditional" && owners.length > 1);
          const exposed = shortenName(prefixed ? `${upstream}${NAMESPACE_SEPARATOR}${item.name}` : item.name!, this.#maxNameLength);
          if (targets.has(exposed)) {
            const first = targets.get(exposed)!.upstream;
            const msg = `${kind.slice(0, -1)} "${item.name}" is offered by both ${first} and ${upstream} with prefix "never"; ${upstream}'s is hidden (use prefix: conditional)`;
            this.collisions.push(msg);
            log("error", "MCP.Routing", msg);
            continue;
          }
          targets.set(exposed, { upstream, name: item.name!, definition: item });
          if (!this.#hidden.has(upstream)) merged.push(exposed === item.name ? item : { ...item, name: exposed });
        }
      }
      return { targets, merged };
    };
    const tools = named("tools");
    const prompts = named("prompts");
    this.#tools = tools.targets;
    this.#prompts = prompts.targets;
    this.#merged.tools = tools.merged;
    this.#merged.prompts = prompts.merged;
    this.#resources = new Map();
    this.#templates = [];
    const resources: Item[] = [];
    const templates: Item[] = [];
    for (const [upstream, lists] of this.#lists) {
      const listed = !this.#hidden.has(upstream);
      for (const r of lists.resources ?? []) {
        if (!this.#resources.has(r.uri!)) this.#resources.set(r.uri!, upstream);
        if (listed) resources.push(r);
      }
      for (const t of lists.templates ?? []) {
        const prefix = String(t.uriTemplate ?? "").split("{")[0]!;
        this.#templates.push({ prefix, upstream });
        if (listed) templates.push(t);
      }
    }
    this.#merged.resources = resources;
    this.#merged.templates = templates;
  }

  /** The union of the upstreams' capabilities, as the gateway announces it. */
  capabilities(): Record<string, unknown> {
    const caps: Record<string, any> = {};
    for (const group of this.manager.groups.values()) {
      const c = group.anyConnection()?.identity?.capabilities;
      if (!c) continue;
      if (c.tools) caps.tools = { listChanged: true };
      if (c.prompts) caps.prompts = { listChanged: true };
      if (c.resources) caps.resources = { listChanged: true, subscribe: Boolean(c.resources.subscribe) || Boolean(caps.resources?.subscribe) };
      if (c.logging) caps.logging = {};
      if (c.completions) caps.completions = {};
    }
    // Announced even before any upstream is up, so clients know the gateway can list tools.
    caps.tools ??= { listChanged: true };
    return caps;
  }

  /** Upstream instructions joined, each headed by its upstream's name. */
  instructions(): string | undefined {
    const parts: string[] = [];
    for (const group of this.manager.groups.values()) {
      const text = group.anyConnection()?.identity?.instructions;
      if (text) parts.push(this.manager.groups.size > 1 ? `## ${group.name}\n${text}` : text);
    }
    return parts.length ? parts.join("\n\n") : undefined;
  }
}
