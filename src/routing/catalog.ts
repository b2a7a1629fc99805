import type { UpstreamManager, UpstreamGroup } from "../upstream/manager.js";
import { log } from "../telemetry/channels.js";
import { shortenName } from "../integrity/name-shortener.js";

/** The four federated list kinds and the result key each list method returns. */
export const LIST_KINDS = {
  tools: { method: "tools/list", key: "tools", capability: "tools", notification: "notifications/tools/list_changed" },
  prompts: { method: "prompts/list", key: "prompts", capability: "prompts", notification: "notifications/prompts/list_changed" },
  resources: { method: "resources/list", key: "resources", capability: "resources", notification: "notifications/resources/list_changed" },
  templates: { method: "resources/templates/list", key: "resourceTemplates", capability: "resources", notification: "notifications/resources/list_changed" },
} as const;
export type ListKind = keyof typeof LIST_KINDS;

/** Where an exposed name leads. */
export interface Target {
  upstream: string;
  name: string;
}

type Item = Record<string, unknown> & { name?: string; uri?: string; uriTemplate?: string };
/** A catalog item as an upstream listed it. */
export type CatalogItem = Item;
/** Filters one upstream's freshly fetched list of one kind (the integrity layer's seam). */
export type ListReview = (group: UpstreamGroup, kind: ListKind, items: CatalogItem[]) => CatalogItem[] | Promise<CatalogItem[]>;
export type PrefixMode = "always" | "conditional" | "never";

/** Separator between the upstream name and the item name. */
export const NAMESPACE_SEPARATOR = "__";

/**
 * The federated view of every upstream's tools, prompts and resources.
 * Lists are fetched when a replica becomes ready and when it says
 * `list_changed`, then merged once; answering `tools/list` or routing a
 * `tools/call` is a map lookup, never a round trip.
 */
export class Catalog {
  readonly #lists = new Map<string, Partial<Record<ListKind, Item[]>>>();
  #tools = new Map<string, Target>();
  #prompts = new Map<string, Target>();
  #resources = new Map<string, string>();
  #templates: Array<{ prefix: string; upstream: string }> = [];
  #merged: Partial<Record<ListKind, Item[]>> = {};
  /** Collisions found under prefix `never` (reported by health). */
  collisions: string[] = [];
  /** Called after a kind's merged list changed (the relay notifies clients). */
  onChanged?: (kind: ListKind) => void;
  /** Longest exposed name (routing.max_name_length): longer or client-unsafe names are shortened. */
  maxNameLength = 64;
  /** Reviews each freshly fetched list before it is kept (src/integrity/: pins, scan); returns what may be exposed. */
  review?: ListReview;

  constructor(
    readonly manager: UpstreamManager,
    public prefixMode: PrefixMode,
  ) {}

  /** Fetches every list of one upstream (all pages) and re-merges. */
  async refresh(group: UpstreamGroup, kinds: ListKind[] = Object.keys(LIST_KINDS) as ListKind[]): Promise<void> {
    const connection = group.anyConnection();
    if (!connection) return;
    const caps = connection.identity?.capabilities ?? {};
    const lists = this.#lists.get(group.name) ?? {};
    await Promise.all(
      kinds.map(async (kind) => {
        const spec = LIST_KINDS[kind];
        if (!caps[spec.capability]) {
          lists[kind] = [];
          return;
        }
        const items: Item[] = [];
        let cursor: string | undefined;
        let failed = false;
        // Bounded: a misbehaving upstream that always returns a cursor cannot loop us forever.
        for (let page = 0; page < 100; page++) {
          const result = await connection.request(spec.method, cursor ? { cursor } : {}, 30_000).catch((err: Error) => {
            log("warn", "MCP.Routing", `${spec.method} failed on ${group.name}: ${err.message}`, { upstream: group.name });
            return undefined;
          });
          if (!result) {
            failed = true;
            break;
          }
          items.push(...((result[spec.key] as Item[]) ?? []));
          cursor = result.nextCursor as string | undefined;
          if (!cursor) break;
        }
        // A failed refresh keeps the last good list: a passing error must not make tools vanish.
        if (!failed || lists[kind] === undefined) lists[kind] = this.review ? await this.review(group, kind, items) : items;
      }),
    );
    this.#lists.set(group.name, lists);
    this.#rebuild();
    for (const kind of kinds) this.onChanged?.(kind);
  }

  /** The merged list of a kind, limited to upstreams with a ready replica. */
  list(kind: ListKind): Item[] {
    return this.#merged[kind] ?? [];
  }

  resolveTool(exposed: string): Target | undefined {
    return this.#tools.get(exposed);
  }

  resolvePrompt(exposed: string): Target | undefined {
    return this.#prompts.get(exposed);
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
   * Forgets an upstream's lists `graceMs` from now unless a replica of it is
   * ready again by then: a respawning child (~300 ms) keeps its tools
   * routable, so calls arriving meanwhile wait for it (bounded by the same
   * pool.checkout_timeout) instead of failing with tool_not_found.
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

  readonly #dropTimers = new Map<string, NodeJS.Timeout>();

  /** Forgets an upstream's lists (when it has no ready replica). */
  drop(upstream: string): void {
    this.#lists.delete(upstream);
    this.#rebuild();
  }

  #modeOf(upstream: string): PrefixMode {
    return this.manager.groups.get(upstream)?.config.prefix ?? this.prefixMode;
  }

  #rebuild(): void {
    this.collisions = [];
    const named = (kind: "tools" | "prompts") => {
      const counts = new Map<string, string[]>();
      for (const [upstream, lists] of this.#lists) for (const item of lists[kind] ?? []) counts.set(item.name!, [...(counts.get(item.name!) ?? []), upstream]);
      const targets = new Map<string, Target>();
      const merged: Item[] = [];
      for (const [upstream, lists] of this.#lists) {
        const mode = this.#modeOf(upstream);
        for (const item of lists[kind] ?? []) {
          const owners = counts.get(item.name!)!;
          const prefixed = mode === "always" || (mode === "conditional" && owners.length > 1);
          const exposed = shortenName(prefixed ? `${upstream}${NAMESPACE_SEPARATOR}${item.name}` : item.name!, this.maxNameLength);
          if (targets.has(exposed)) {
            const first = targets.get(exposed)!.upstream;
            const msg = `${kind.slice(0, -1)} "${item.name}" is offered by both ${first} and ${upstream} with prefix "never"; ${upstream}'s is hidden (use prefix: conditional)`;
            this.collisions.push(msg);
            log("error", "MCP.Routing", msg);
            continue;
          }
          targets.set(exposed, { upstream, name: item.name! });
          merged.push(exposed === item.name ? item : { ...item, name: exposed });
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
      for (const r of lists.resources ?? []) {
        if (!this.#resources.has(r.uri!)) this.#resources.set(r.uri!, upstream);
        resources.push(r);
      }
      for (const t of lists.templates ?? []) {
        const prefix = String(t.uriTemplate ?? "").split("{")[0]!;
        this.#templates.push({ prefix, upstream });
        templates.push(t);
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
