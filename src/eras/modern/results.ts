/**
 * Results on the modern wire: every result says what it is (`resultType`),
 * who answered (`_meta` serverInfo), and, for lists and `resources/read`,
 * how long it may be cached and by whom (SEP-2549 `ttlMs`/`cacheScope`).
 */
import { META } from "../../protocol/era.js";

/** Methods whose results carry caching hints. */
export const CACHEABLE = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read", "server/discover"]);

/** SEP-2549 caching hint. */
export interface CacheHint {
  ttlMs: number;
  cacheScope: "public" | "private";
}

/** The merged hint of several contributors: the shortest ttl, private if any is private. */
export function mergeHints(hints: readonly CacheHint[], fallback: CacheHint): CacheHint {
  if (hints.length === 0) return fallback;
  let ttlMs = Infinity;
  let scope: CacheHint["cacheScope"] = "public";
  for (const h of hints) {
    ttlMs = Math.min(ttlMs, h.ttlMs);
    if (h.cacheScope === "private") scope = "private";
  }
  return { ttlMs: Number.isFinite(ttlMs) ? ttlMs : fallback.ttlMs, cacheScope: scope };
}

/** The hint an upstream put on its own result, if it is a valid one. */
export function hintOf(result: Record<string, unknown>): CacheHint | undefined {
  const { ttlMs, cacheScope } = result;
  if (typeof ttlMs !== "number" || !Number.isSafeInteger(ttlMs) || ttlMs < 0) return undefined;
  if (cacheScope !== "public" && cacheScope !== "private") return undefined;
  return { ttlMs, cacheScope };
}

/** Sort key of a list item (merged lists are in a deterministic order). */
const SORT_KEY: Record<string, string> = { tools: "name", prompts: "name", resources: "uri", resourceTemplates: "uriTemplate" };

/** Sorts the items of a merged list result (by name / uri / uriTemplate), replacing each list with a sorted copy. */
export function sortList(result: Record<string, unknown>): void {
  for (const [field, key] of Object.entries(SORT_KEY)) {
    const items = result[field];
    if (!Array.isArray(items)) continue;
    // A copy: the merged list is the catalog's own array.
    result[field] = [...items].sort((a, b) => {
      const x = String((a as Record<string, unknown>)[key] ?? "");
      const y = String((b as Record<string, unknown>)[key] ?? "");
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
}

/**
 * Stamps a result for the modern wire: `resultType` (kept when the upstream
 * set one), serverInfo in `_meta`, and the caching hint for cacheable methods.
 * Returns a new object; the upstream's result is not mutated.
 */
export function stampResult(
  method: string,
  result: Record<string, unknown>,
  serverInfo: { name: string; version: string },
  hint: CacheHint | undefined,
): Record<string, unknown> {
  const meta = typeof result._meta === "object" && result._meta !== null ? (result._meta as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...result, resultType: typeof result.resultType === "string" ? result.resultType : "complete", _meta: { ...meta, [META.serverInfo]: serverInfo } };
  if (hint !== undefined && CACHEABLE.has(method) && out.resultType === "complete") {
    out.ttlMs = hint.ttlMs;
    out.cacheScope = hint.cacheScope;
  }
  return out;
}
