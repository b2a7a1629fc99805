/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the JSON values MCP
 * definitions carry (what `JSON.parse` produces: objects, arrays, strings,
 * finite numbers, booleans, null).
 *
 * - Object members sorted by their names' UTF-16 code units (what the
 *   default `Array.prototype.sort` on strings does), arrays kept in order.
 * - Numbers in the ECMAScript Number-to-String form (RFC 8785 3.2.2.3 is
 *   defined as exactly that, and `JSON.stringify` of a finite number gives
 *   it: `1e+30`, `0.002`, `-0` as `0`). NaN and Infinity cannot occur in
 *   parsed JSON and are refused.
 * - Strings escaped as ECMAScript `JSON.stringify` does (RFC 8785 3.2.2.2
 *   names the same rules). One documented deviation: a lone surrogate, which
 *   I-JSON forbids, is escaped (`\udc00`) instead of refused, so one bad
 *   description cannot stop a catalog refresh.
 * - No whitespace; `undefined` members are skipped as in `JSON.stringify`.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
  }
}
