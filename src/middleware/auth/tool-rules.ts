import type { GatewayConfig } from "../../config/schema.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { ToolFilter, ToolTarget } from "../../relay/relay.js";

type RuleConfig = GatewayConfig["auth"]["tool_rules"][number];

/** The upstream separator of namespaced names (as routing/catalog.ts builds them). */
const SEPARATOR = "__";

/**
 * How a rule matches a tool: `exact` (it names this tool: decides),
 * `alias` (an old-form rule naming the tool by another of its names: may only
 * refuse), or not at all.
 */
type Match = "exact" | "alias" | null;

interface CompiledRule {
  match: (exposed: string, target: ToolTarget | undefined) => Match;
  allowScopes?: readonly string[];
  denyScopes?: readonly string[];
  allowClaims?: ReadonlyArray<[string, readonly string[]]>;
}

/** `*` matches any run of characters; everything else is literal. */
function compileGlob(pattern: string): (tool: string) => boolean {
  if (!pattern.includes("*")) return (tool) => tool === pattern;
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return (tool) => re.test(tool);
}

function claimMatches(claims: Record<string, unknown> | undefined, name: string, wanted: readonly string[]): boolean {
  const v = claims?.[name];
  if (typeof v === "string") return wanted.includes(v) || v.split(" ").some((s) => wanted.includes(s));
  if (Array.isArray(v)) return v.some((x) => typeof x === "string" && wanted.includes(x));
  if (typeof v === "number" || typeof v === "boolean") return wanted.includes(String(v));
  return false;
}

/**
 * Per-tool authorization from `auth.tool_rules`. Rules match
 * `upstream` + `tool` (the upstream's own name), or, in the old form, the
 * exposed name (see compileMatch), `*` as a wildcard; the first matching rule
 * decides: a deny scope held -> denied; otherwise allowed when the client holds
 * one of `allow_scopes` (if given) and every `allow_claims` entry matches (if
 * given). No matching rule -> `auth.default_tool_policy`.
 *
 * A denied tool is hidden from `tools/list` and calling it answers
 * `tool_not_found` (not `forbidden_tool`): to that client the tool does not
 * exist, so the error does not confirm that it does.
 *
 * Returns undefined when there is nothing to enforce (no rules, default allow),
 * so the relay keeps its unfiltered fast path.
 */
/**
 * A rule with `upstream` binds to that upstream's own tool name, whatever the
 * gateway exposes it as. The old form (`tool` only) matches the exposed name
 * as before (exact), and also the tool's other names, `<upstream>__<name>`
 * and `<name>` (alias), so a rename by conditional prefixing (another
 * upstream exposing the same name) cannot take a tool out of its rule.
 */
function compileMatch(rule: RuleConfig): CompiledRule["match"] {
  const tool = compileGlob(rule.tool);
  if (rule.upstream !== undefined) {
    const upstream = compileGlob(rule.upstream);
    return (_exposed, target) => (target !== undefined && upstream(target.upstream) && tool(target.name) ? "exact" : null);
  }
  return (exposed, target) => {
    if (tool(exposed)) return "exact";
    if (target === undefined) return null;
    return tool(target.name) || tool(`${target.upstream}${SEPARATOR}${target.name}`) ? "alias" : null;
  };
}

export function createToolFilter(auth: GatewayConfig["auth"]): ToolFilter | undefined {
  if (auth.tool_rules.length === 0 && auth.default_tool_policy === "allow") return undefined;
  const rules: CompiledRule[] = auth.tool_rules.map((r: RuleConfig) => ({
    match: compileMatch(r),
    allowScopes: r.allow_scopes,
    denyScopes: r.deny_scopes,
    allowClaims: r.allow_claims ? Object.entries(r.allow_claims).map(([k, v]) => [k, typeof v === "string" ? [v] : v] as [string, string[]]) : undefined,
  }));
  const defaultAllow = auth.default_tool_policy === "allow";
  return (session: CallerContext, tool: string, target?: ToolTarget): boolean => {
    const scopes = session.identity?.scopes ?? [];
    const claims = session.identity?.claims;
    for (const rule of rules) {
      const m = rule.match(tool, target);
      if (m === null) continue;
      const refused =
        rule.denyScopes?.some((s) => scopes.includes(s)) ||
        (rule.allowScopes !== undefined && !rule.allowScopes.some((s) => scopes.includes(s))) ||
        (rule.allowClaims !== undefined && !rule.allowClaims.every(([k, v]) => claimMatches(claims, k, v)));
      if (refused) return false;
      // An alias match never grants: a rule written for another name must not open a tool a later rule restricts.
      if (m === "exact") return true;
    }
    return defaultAllow;
  };
}
