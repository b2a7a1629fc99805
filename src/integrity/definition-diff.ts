import { canonicalJson } from "./canonical-json.js";
import { visible } from "./scanner.js";

/** Longest value shown in one diff line (a hostile description cannot flood the log). */
const MAX_VALUE = 160;

function show(value: unknown): string {
  const text = visible(typeof value === "string" ? JSON.stringify(value) : canonicalJson(value));
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…(${text.length} chars)` : text;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/**
 * A readable diff of two definitions, one line per changed leaf:
 * `~ description: "old" -> "new"`, `+ inputSchema.properties.note: {...}`,
 * `- annotations.readOnlyHint: true`. Objects are compared member by member,
 * arrays by position when their lengths match (else as one value). At most
 * `limit` lines, then a count of the rest.
 */
export function diffDefinitions(before: unknown, after: unknown, limit = 20): string[] {
  const lines: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isObject(a) && isObject(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        const p = path ? `${path}.${key}` : key;
        if (!(key in b)) lines.push(`- ${p}: ${show(a[key])}`);
        else if (!(key in a)) lines.push(`+ ${p}: ${show(b[key])}`);
        else walk(a[key], b[key], p);
      }
      return;
    }
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((v, i) => walk(v, b[i], `${path}[${i}]`));
      return;
    }
    if (canonicalJson(a) !== canonicalJson(b)) lines.push(`~ ${path || "(definition)"}: ${show(a)} -> ${show(b)}`);
  };
  walk(before, after, "");
  return lines.length > limit ? [...lines.slice(0, limit), `… and ${lines.length - limit} more change(s)`] : lines;
}
