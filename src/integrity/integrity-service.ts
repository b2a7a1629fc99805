import type { ConfigStore } from "../config/store.js";
import type { Catalog, CatalogItem, ListKind } from "../routing/catalog.js";
import type { UpstreamGroup, UpstreamManager } from "../upstream/manager.js";
import { GatewayError } from "../errors/index.js";
import { log } from "../telemetry/channels.js";
import { fingerprintOf, modelView, PIN_KINDS, type Definition, type PinKind } from "./fingerprint.js";
import { pinKey, type Pin, type PinSource, type PinStore } from "./pin-store.js";
import { claimsShadowing, scanDefinition, type Finding, type OtherTool } from "./scanner.js";
import { verdictOf, type PinMode, type PinStatus, type ScanPolicy, type WithheldReason } from "./review.js";
import { shortenName } from "./name-shortener.js";
import { compareReplicas, type Disagreement } from "./replica-check.js";

/** One definition as the last refresh saw it, with its verdict (the operator's view). */
export interface ReviewedItem {
  upstream: string;
  kind: PinKind;
  name: string;
  fingerprint: string;
  content: string;
  definition: Definition;
  status: PinStatus;
  withheld?: WithheldReason;
  renamed_from?: string;
  diff?: string[];
  findings: Finding[];
  seen_at: string;
  /** Scan cache (non-enumerable: not part of the admin JSON): the names epoch and policy it was scanned under. */
  readonly scanned?: number;
  readonly scan?: ScanPolicy;
}

/** What the metrics read at scrape time. */
export interface IntegrityFigures {
  /** Drift events by upstream, kind and type (changed, renamed). */
  drift: Array<{ upstream: string; kind: string; type: string; count: number }>;
  withheld: Array<{ upstream: string; count: number }>;
  findings: Array<{ upstream: string; severity: string; count: number }>;
  disagreements: Array<{ upstream: string; count: number }>;
}

const LIST_KIND_OF: Record<PinKind, ListKind[]> = { tools: ["tools"], prompts: ["prompts"], templates: ["resources", "templates"] };
const sameNames = (a: Map<string, unknown> | undefined, b: Map<string, unknown>) => !!a && a.size === b.size && [...b.keys()].every((k) => a.has(k));
const isPinKind = (k: ListKind): k is PinKind => (PIN_KINDS as readonly string[]).includes(k);

/**
 * Tool integrity (docs/integrity.md): the catalog hands every freshly
 * fetched list to `review()`, which fingerprints each definition, compares it
 * with its pin, scans it for poisoning, logs drift with a diff, and returns
 * only what may be exposed. Everything costly happens there, once per
 * refresh; the call path only asks `withheld()` about names that did not
 * resolve.
 */
export class IntegrityService {
  readonly #config: ConfigStore;
  readonly #catalog: Catalog;
  readonly #manager: UpstreamManager;
  readonly #createStore: () => PinStore;
  #store?: PinStore;
  #loading?: Promise<void>;
  #pins = new Map<string, Pin>();
  /** `${upstream}\0${kind}` -> name -> item. */
  readonly #seen = new Map<string, Map<string, ReviewedItem>>();
  /** pin key -> the fingerprint last reported (one log line per distinct drift or finding). */
  readonly #reported = new Map<string, string>();
  readonly #drift = new Map<string, number>();
  readonly #disagreements = new Map<string, Disagreement[]>();
  /** Work a refresh starts but does not wait for (replica comparisons, shadowing re-scans). */
  readonly #pending = new Set<Promise<void>>();
  /** Bumped whenever some upstream's tool names change: cached scan results older than this are redone. */
  #namesEpoch = 0;

  constructor(deps: { config: ConfigStore; catalog: Catalog; manager: UpstreamManager; createStore: () => PinStore }) {
    this.#config = deps.config;
    this.#catalog = deps.catalog;
    this.#manager = deps.manager;
    this.#createStore = deps.createStore;
  }

  modeOf(upstream: string): PinMode {
    return this.#manager.groups.get(upstream)?.config.integrity?.mode ?? this.#config.current.integrity.mode;
  }

  scanOf(upstream: string): ScanPolicy {
    return this.#manager.groups.get(upstream)?.config.integrity?.scan ?? this.#config.current.integrity.scan;
  }

  /** The pin store kind in use, once one was needed. */
  get storeKind(): string | undefined {
    return this.#store?.kind;
  }

  /**
   * Opens the store now (without loading): called at start when some upstream
   * pins, so a pin file that does not parse stops the start with its path
   * instead of surfacing at the first refresh.
   */
  openStore(): void {
    if (this.#store) return;
    this.#store = this.#createStore();
    this.#store.onChange(() => void this.#reloadFromElsewhere());
  }

  /** Opens the store and loads the pins, once (again after a failure). Only when some upstream pins. */
  #ensurePins(): Promise<void> {
    if (this.#loading) return this.#loading;
    this.#loading = (async () => {
      this.openStore();
      await this.#reload();
    })().catch((err) => {
      this.#loading = undefined;
      log("error", "MCP.Integrity", `pin store unavailable: ${(err as Error).message}; unpinned definitions are treated as new`);
    });
    return this.#loading;
  }

  async #reload(): Promise<void> {
    const pins = await this.#store!.load();
    this.#pins = new Map(pins.map((p) => [pinKey(p.upstream, p.kind, p.name), p]));
  }

  /** Another node changed pins: reload, and re-review the upstreams whose verdicts may change. */
  async #reloadFromElsewhere(): Promise<void> {
    await this.#reload().catch(() => {});
    for (const group of this.#manager.groups.values()) void this.#refreshIfUnsettled(group);
  }

  #refreshIfUnsettled(group: UpstreamGroup): Promise<void> {
    const kinds = new Set<ListKind>();
    for (const kind of PIN_KINDS) for (const item of this.#seen.get(`${group.name}\0${kind}`)?.values() ?? []) if (item.status !== "pinned" && item.status !== "unpinned") LIST_KIND_OF[kind].forEach((k) => kinds.add(k));
    return kinds.size ? this.#catalog.refresh(group, [...kinds]) : Promise.resolve();
  }

  #othersTools(upstream: string): OtherTool[] {
    const out: OtherTool[] = [];
    for (const [key, items] of this.#seen) {
      const [u, kind] = key.split("\0");
      if (u !== upstream && kind === "tools") for (const name of items.keys()) out.push({ upstream: u!, name });
    }
    return out;
  }

  /** The catalog's seam: reviews one upstream's fresh list of one kind and returns what clients may see. */
  review = async (group: UpstreamGroup, kind: ListKind, items: CatalogItem[]): Promise<CatalogItem[]> => {
    if (!isPinKind(kind)) return items;
    const upstream = group.name;
    const mode = this.modeOf(upstream);
    const scan = this.scanOf(upstream);
    const { block_severity: blockSeverity } = this.#config.current.integrity;
    // Both off: nothing is computed or remembered for this upstream (and `tools list` does not show it).
    if (mode === "off" && scan === "off") {
      this.#seen.delete(`${upstream}\0${kind}`);
      return items;
    }
    if (mode !== "off") await this.#ensurePins();
    const names = new Set(items.map((i) => String(i.name ?? i.uriTemplate ?? "")));
    const orphans = [...this.#pins.values()].filter((p) => p.upstream === upstream && p.kind === kind && !names.has(p.name));
    const others = scan === "off" ? [] : this.#othersTools(upstream);
    const previous = this.#seen.get(`${upstream}\0${kind}`);
    const seen = new Map<string, ReviewedItem>();
    const records: Pin[] = [];
    const now = new Date().toISOString();
    const visible: CatalogItem[] = [];
    for (const item of items) {
      const definition = modelView(kind, item);
      const name = String(item.name ?? item.uriTemplate ?? "");
      const fp = fingerprintOf(definition);
      // An unchanged definition keeps its findings while no upstream's tool names changed (shadowing reads those).
      const before = previous?.get(name);
      const reuse = before && before.fingerprint === fp.fingerprint && before.scanned === this.#namesEpoch && before.scan === scan;
      const findings = scan === "off" ? [] : reuse ? before.findings : scanDefinition(kind, definition, others);
      const key = pinKey(upstream, kind, name);
      const verdict = verdictOf({ kind, definition, fp, mode, scan, blockSeverity, findings, pin: this.#pins.get(key), orphans });
      const reviewed: ReviewedItem = { upstream, kind, name, ...fp, definition, status: verdict.status, findings, seen_at: now };
      Object.defineProperties(reviewed, { scanned: { value: this.#namesEpoch }, scan: { value: scan } });
      if (verdict.withheld) reviewed.withheld = verdict.withheld;
      if (verdict.renamed_from) reviewed.renamed_from = verdict.renamed_from;
      if (verdict.diff) reviewed.diff = verdict.diff;
      if (verdict.record) records.push(this.#pinOf(reviewed, "record"));
      seen.set(name, reviewed);
      this.#report(reviewed, previous?.get(name), mode);
      if (!verdict.withheld) visible.push(item);
    }
    this.#seen.set(`${upstream}\0${kind}`, seen);
    if (kind === "tools" && !sameNames(previous, seen)) {
      this.#namesEpoch++;
      if (scan !== "off") this.#rescanClaimants(upstream);
    }
    if (records.length) {
      for (const p of records) this.#pins.set(pinKey(p.upstream, p.kind, p.name), p);
      await Promise.all(records.map((p) => this.#store!.put(p))).catch((err) => log("error", "MCP.Integrity", `could not save pins of ${upstream}: ${(err as Error).message}`, { upstream }));
      log("info", "MCP.Integrity", `pinned ${records.length} new ${kind} definition(s) of ${upstream} (record): ${records.map((p) => p.name).join(", ")}`, { upstream });
    }
    if (group.replicas.length > 1) this.#background(this.#checkReplicas(group, kind, seen));
    return visible;
  };

  /**
   * Shadowing depends on the other upstreams' tool names, which arrive in any
   * order: when an upstream's names change, the upstreams with a tool making
   * a shadowing claim are reviewed again (rare; names do not change on a
   * re-review, so this cannot loop).
   */
  #rescanClaimants(changed: string): void {
    for (const group of this.#manager.groups.values()) {
      if (group.name === changed || this.scanOf(group.name) === "off") continue;
      const items = this.#seen.get(`${group.name}\0tools`);
      if (items && [...items.values()].some((i) => claimsShadowing("tools", i.definition))) this.#background(this.#catalog.refresh(group, ["tools"]));
    }
  }

  /** One log line per new drift, rename or scan finding; a restored definition is logged too. */
  #report(item: ReviewedItem, before: ReviewedItem | undefined, mode: PinMode): void {
    const what = `${item.kind.slice(0, -1)} "${item.name}" of ${item.upstream}`;
    const key = pinKey(item.upstream, item.kind, item.name);
    const tag = `${item.status}:${item.fingerprint}`;
    if ((item.status === "changed" || item.status === "renamed") && this.#reported.get(key) !== tag) {
      this.#reported.set(key, tag);
      const counter = `${item.upstream}\0${item.kind}\0${item.status}`;
      this.#drift.set(counter, (this.#drift.get(counter) ?? 0) + 1);
      const action = mode === "enforce" ? "withheld until approved (mcp-gateway tools approve)" : "still exposed (record mode)";
      const head = item.status === "renamed" ? `${item.kind.slice(0, -1)} "${item.renamed_from}" of ${item.upstream} was renamed to "${item.name}" (same definition)` : `${what} changed since it was pinned`;
      log("warn", "MCP.Integrity", `${head}; ${action}: ${(item.diff ?? []).join(" | ")}`, { upstream: item.upstream, kind: item.kind, tool: item.name, fingerprint: item.fingerprint, diff: item.diff, event: `definition_${item.status}` });
    }
    const findingsTag = `${item.fingerprint}:${item.findings.length}`;
    if (item.findings.length && this.#reported.get(`scan:${key}`) !== findingsTag) {
      this.#reported.set(`scan:${key}`, findingsTag);
      const lines = item.findings.map((f) => `${f.rule} (${f.severity}) in ${f.field}: "${f.span.text}"${f.shadows ? ` shadows ${f.shadows}` : ""}`);
      log(item.withheld === "blocked" ? "error" : "warn", "MCP.Integrity", `scan: ${what}${item.withheld === "blocked" ? " withheld (scan: block)" : ""}: ${lines.join(" | ")}`, { upstream: item.upstream, kind: item.kind, tool: item.name, event: "scan_findings" });
    }
    if (before?.withheld && !item.withheld) log("info", "MCP.Integrity", `${what} is exposed again (${item.status})`, { upstream: item.upstream, kind: item.kind, tool: item.name, event: "definition_restored" });
  }

  async #checkReplicas(group: UpstreamGroup, kind: PinKind, reference: Map<string, ReviewedItem>): Promise<void> {
    const found = await compareReplicas(group, kind, reference).catch(() => undefined);
    if (!found) return;
    const key = `${group.name}\0${kind}`;
    const before = JSON.stringify(this.#disagreements.get(key) ?? []);
    this.#disagreements.set(key, found);
    if (found.length && JSON.stringify(found) !== before) {
      log("warn", "MCP.Integrity", `replicas of ${group.name} disagree about ${found.length} ${kind} definition(s): ${found.map((d) => `${d.name} (${Object.entries(d.replicas).map(([r, f]) => `${r}: ${f ? f.slice(7, 19) : "absent"}`).join(", ")})`).join("; ")}`, { upstream: group.name, event: "replica_disagreement" });
    }
  }

  #background(work: Promise<void>): void {
    const tracked: Promise<void> = work.catch(() => {}).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  /** Resolves when the background work refreshes started (replica comparisons, shadowing re-scans) is done, including work it started. */
  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  /** The names a client could know a definition by (bare, prefixed, each shortened as the catalog does). */
  #aliases(item: ReviewedItem): string[] {
    const limit = this.#catalog.maxNameLength;
    return [item.name, `${item.upstream}__${item.name}`].flatMap((n) => [n, shortenName(n, limit)]);
  }

  /** The relay's seam: the error for a name that did not resolve because its definition is withheld. */
  withheld = (kind: "tools" | "prompts", exposed: string): GatewayError | undefined => {
    for (const [key, items] of this.#seen) {
      if (!key.endsWith(`\0${kind}`)) continue;
      for (const item of items.values()) {
        if (!item.withheld || !this.#aliases(item).includes(exposed)) continue;
        return withheldError(item, exposed);
      }
    }
    return undefined;
  };

  /**
   * The relay's seam for resources: the error for a URI that matches a withheld
   * resource template (its literal part before the first `{`), so a template
   * hidden from resources/templates/list cannot still be read, completed or
   * subscribed to.
   */
  withheldResource = (uri: string): GatewayError | undefined => {
    for (const [key, items] of this.#seen) {
      if (!key.endsWith("\0templates")) continue;
      for (const item of items.values()) {
        if (!item.withheld) continue;
        const template = typeof item.definition.uriTemplate === "string" ? item.definition.uriTemplate : item.name;
        const prefix = template.split("{")[0]!;
        if (prefix.length === 0 || !uri.startsWith(prefix)) continue;
        return withheldError(item, template);
      }
    }
    return undefined;
  };

  /** Every definition seen, as clients see it (exposed name or withheld), sorted. */
  list(): Array<ReviewedItem & { exposed: string | null }> {
    const exposed = new Map<string, string>();
    for (const t of this.#catalog.list("tools")) {
      const target = this.#catalog.resolveTool(String(t.name));
      if (target) exposed.set(pinKey(target.upstream, "tools", target.name), String(t.name));
    }
    for (const p of this.#catalog.list("prompts")) {
      const target = this.#catalog.resolvePrompt(String(p.name));
      if (target) exposed.set(pinKey(target.upstream, "prompts", target.name), String(p.name));
    }
    const out: Array<ReviewedItem & { exposed: string | null }> = [];
    for (const items of this.#seen.values()) {
      for (const item of items.values()) {
        const key = pinKey(item.upstream, item.kind, item.name);
        out.push({ ...item, exposed: item.withheld ? null : (exposed.get(key) ?? (item.kind === "templates" ? item.name : null)) });
      }
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.upstream.localeCompare(b.upstream) || a.name.localeCompare(b.name));
  }

  /** The items a name designates: exposed name, upstream-side name, or `<upstream>__<name>`. */
  #find(name: string, upstream?: string, kind?: PinKind): ReviewedItem[] {
    const out: ReviewedItem[] = [];
    for (const items of this.#seen.values()) {
      for (const item of items.values()) {
        if ((upstream && item.upstream !== upstream) || (kind && item.kind !== kind)) continue;
        if (this.#aliases(item).includes(name)) out.push(item);
      }
    }
    return out;
  }

  #one(name: string, upstream?: string, kind?: PinKind): ReviewedItem {
    const found = this.#find(name, upstream, kind);
    if (found.length === 0) throw new GatewayError("tool_not_found", { tool: name });
    // A tool and a prompt of one name: tools are what operators mean first.
    const narrowed = found.length > 1 && !kind ? found.filter((f) => f.kind === "tools") : found;
    if (narrowed.length !== 1) throw new GatewayError("invalid_params", { detail: `"${name}" names ${found.map((f) => `${f.upstream}/${f.kind}/${f.name}`).join(", ")}: say which with upstream (and kind)` });
    return narrowed[0]!;
  }

  /** Pinned and current definition of one name, with the diff. */
  diff(name: string, upstream?: string, kind?: PinKind): { item: ReviewedItem; pinned: Definition | null; diff: string[] } {
    const item = this.#one(name, upstream, kind);
    const pin = this.#pins.get(pinKey(item.upstream, item.kind, item.renamed_from ?? item.name));
    return { item, pinned: pin?.definition ?? null, diff: item.diff ?? [] };
  }

  #pinOf(item: ReviewedItem, by: PinSource, scanAccepted = false): Pin {
    return { upstream: item.upstream, kind: item.kind, name: item.name, fingerprint: item.fingerprint, content: item.content, definition: item.definition, pinned_at: new Date().toISOString(), by, ...(scanAccepted ? { scan_accepted: true } : {}) };
  }

  async #save(pins: Pin[], drop: Array<[string, PinKind, string]> = []): Promise<void> {
    await this.#ensurePins();
    if (!this.#store) throw new GatewayError("not_implemented", { service: "the pin store" });
    for (const p of pins) {
      await this.#store.put(p);
      this.#pins.set(pinKey(p.upstream, p.kind, p.name), p);
    }
    for (const [u, k, n] of drop) {
      await this.#store.delete(u, k, n);
      this.#pins.delete(pinKey(u, k, n));
    }
  }

  /**
   * Approves the current definition of one name (and its scan findings): it
   * is pinned, a rename's old pin is dropped, and the upstream's list is
   * refreshed so every client sees it again (one list_changed). With
   * `fingerprint`, only that exact definition is approved.
   */
  async approve(name: string, opts: { upstream?: string; kind?: PinKind; fingerprint?: string } = {}): Promise<ReviewedItem> {
    const item = this.#one(name, opts.upstream, opts.kind);
    if (opts.fingerprint && opts.fingerprint !== item.fingerprint) {
      throw new GatewayError("invalid_params", { detail: `the definition of "${name}" is now ${item.fingerprint}, not ${opts.fingerprint}: review it again (mcp-gateway tools diff ${name})` });
    }
    await this.#save([this.#pinOf(item, "approve", true)], item.renamed_from ? [[item.upstream, item.kind, item.renamed_from]] : []);
    log("info", "MCP.Integrity", `${item.kind.slice(0, -1)} "${item.name}" of ${item.upstream} approved (${item.fingerprint})`, { upstream: item.upstream, event: "definition_approved" });
    const group = this.#manager.groups.get(item.upstream);
    if (group) await this.#catalog.refresh(group, LIST_KIND_OF[item.kind]);
    return this.#seen.get(`${item.upstream}\0${item.kind}`)?.get(item.name) ?? item;
  }

  /** Pins every definition as it is now (`tools pin --all`); scan findings still need one approval each. */
  async pinAll(): Promise<{ pinned: number }> {
    const pins: Pin[] = [];
    const groups = new Set<string>();
    for (const items of this.#seen.values()) {
      for (const item of items.values()) {
        if (item.status === "pinned") continue;
        pins.push(this.#pinOf(item, "pin_all"));
        groups.add(item.upstream);
      }
    }
    await this.#save(pins);
    if (pins.length) log("info", "MCP.Integrity", `pinned ${pins.length} definition(s) (tools pin --all)`, { event: "pinned_all" });
    await Promise.all([...groups].map((g) => this.#manager.groups.get(g)).filter((g): g is UpstreamGroup => !!g).map((g) => this.#catalog.refresh(g)));
    return { pinned: pins.length };
  }

  /** The overview the admin API, doctor and dashboard show. */
  summary() {
    const items = this.list();
    const count = (f: (i: ReviewedItem) => boolean) => items.filter(f).length;
    const current = this.#config.current.integrity;
    return {
      mode: current.mode,
      scan: current.scan,
      block_severity: current.block_severity,
      store: this.#store?.kind ?? null,
      upstream_overrides: Object.fromEntries([...this.#manager.groups.values()].filter((g) => g.config.integrity).map((g) => [g.name, g.config.integrity])),
      counts: {
        definitions: items.length,
        pinned: count((i) => i.status === "pinned"),
        changed: count((i) => i.status === "changed"),
        renamed: count((i) => i.status === "renamed"),
        new: count((i) => i.status === "new"),
        withheld: count((i) => !!i.withheld),
        with_findings: count((i) => i.findings.length > 0),
      },
      drift_events: [...this.#drift.values()].reduce((a, b) => a + b, 0),
      withheld: items.filter((i) => i.withheld).map((i) => ({ upstream: i.upstream, kind: i.kind, name: i.name, reason: i.withheld, renamed_from: i.renamed_from ?? null })),
      drifted: items.filter((i) => i.status === "changed" || i.status === "renamed").map((i) => ({ upstream: i.upstream, kind: i.kind, name: i.name, status: i.status, diff: i.diff ?? [] })),
      findings: items.flatMap((i) => i.findings.map((f) => ({ upstream: i.upstream, kind: i.kind, name: i.name, rule: f.rule, severity: f.severity, field: f.field, text: f.span.text, ...(f.shadows ? { shadows: f.shadows } : {}) }))),
      replica_disagreements: [...this.#disagreements.entries()].flatMap(([key, list]) => list.map((d) => ({ upstream: key.split("\0")[0]!, kind: key.split("\0")[1]!, ...d }))),
    };
  }

  /** Figures for the Prometheus metrics (read at scrape time). */
  figures(): IntegrityFigures {
    const withheld = new Map<string, number>();
    const findings = new Map<string, number>();
    for (const item of this.list()) {
      if (item.withheld) withheld.set(item.upstream, (withheld.get(item.upstream) ?? 0) + 1);
      for (const f of item.findings) findings.set(`${item.upstream}\0${f.severity}`, (findings.get(`${item.upstream}\0${f.severity}`) ?? 0) + 1);
    }
    const disagreements = new Map<string, number>();
    for (const [key, list] of this.#disagreements) disagreements.set(key.split("\0")[0]!, (disagreements.get(key.split("\0")[0]!) ?? 0) + list.length);
    return {
      drift: [...this.#drift].map(([k, count]) => {
        const [upstream, kind, type] = k.split("\0");
        return { upstream: upstream!, kind: kind!, type: type!, count };
      }),
      withheld: [...this.#manager.groups.keys()].map((upstream) => ({ upstream, count: withheld.get(upstream) ?? 0 })),
      findings: [...findings].map(([k, count]) => ({ upstream: k.split("\0")[0]!, severity: k.split("\0")[1]!, count })),
      disagreements: [...this.#manager.groups.keys()].map((upstream) => ({ upstream, count: disagreements.get(upstream) ?? 0 })),
    };
  }

  async close(): Promise<void> {
    await this.#store?.close();
  }
}

/** What a client is told about a definition the gateway withholds, under the name it asked for. */
function withheldError(item: ReviewedItem, shownAs: string): GatewayError {
  if (item.withheld === "blocked") return new GatewayError("tool_definition_blocked", { tool: shownAs, rules: [...new Set(item.findings.map((f) => f.rule))].join(", ") });
  const reason = item.withheld === "changed" ? "changed since it was pinned" : item.withheld === "renamed" ? `is a rename of pinned "${item.renamed_from}"` : "was never pinned";
  return new GatewayError("tool_definition_changed", { tool: shownAs, reason });
}
