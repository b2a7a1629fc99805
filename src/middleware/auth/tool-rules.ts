import type { GatewayConfig } from "../../config/schema.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { ToolFilter } from "../../relay/relay.js";

type RuleConfig = GatewayConfig["auth"]["tool_rules"][number];

interface CompiledRule {
  match: (tool: string) => boolean;
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
 * Per-tool authorization from `auth.tool_rules`. Rules match the tool's
 * exposed (namespaced) name, `*` as a wildcard; the first matching rule
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
export function createToolFilter(auth: GatewayConfig["auth"]): ToolFilter | undefined {
  if (auth.tool_rules.length === 0 && auth.default_tool_policy === "allow") return undefined;
  const rules: CompiledRule[] = auth.tool_rules.map((r: RuleConfig) => ({
    match: compileGlob(r.tool),
    allowScopes: r.allow_scopes,
    denyScopes: r.deny_scopes,
    allowClaims: r.allow_claims ? Object.entries(r.allow_claims).map(([k, v]) => [k, typeof v === "string" ? [v] : v] as [string, string[]]) : undefined,
  }));
  const defaultAllow = auth.default_tool_policy === "allow";
  return (session: CallerContext, tool: string): boolean => {
    const scopes = session.identity?.scopes ?? [];
    const claims = session.identity?.claims;
    for (const rule of rules) {
      if (!rule.match(tool)) continue;
      if (rule.denyScopes?.some((s) => scopes.includes(s))) return false;
      if (rule.allowScopes && !rule.allowScopes.some((s) => scopes.includes(s))) return false;
      if (rule.allowClaims && !rule.allowClaims.every(([k, v]) => claimMatches(claims, k, v))) return false;
      return true;
    }
    return defaultAllow;
  };
}
