/**
 * Longest string the gateway keeps or echoes from client input in error
 * details, diagnostics, traces and logs (characters). Longer ones are cut and
 * say how much was cut, so a 3 MB method name costs a few hundred bytes
 * wherever it is remembered.
 */
export const MAX_RETAINED_STRING = 512;

/** `s` cut to `max` characters, with a marker naming the cut length. */
export function truncate(s: string, max = MAX_RETAINED_STRING): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(+${s.length - max} chars)`;
}

/** A copy of `fields` with every string value truncated (one level deep; nested values are serialised and cut). */
export function truncateFields<T extends Record<string, unknown>>(fields: T, max = MAX_RETAINED_STRING): T {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(fields)) {
    let cut: unknown = v;
    if (typeof v === "string") cut = truncate(v, max);
    else if (v !== null && typeof v === "object") {
      const json = safeJson(v);
      if (json.length > max) cut = truncate(json, max);
    }
    if (cut !== v) (out ??= { ...fields })[k] = cut;
  }
  return (out ?? fields) as T;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "";
  } catch {
    return String(v);
  }
}
