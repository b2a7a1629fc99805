/**
 * Human output for the CLI: an object becomes aligned `key  value` lines
 * (nested objects flattened with dots), an array of objects becomes a table.
 * `--json` bypasses all of this.
 */

import type { Palette } from "./colour.js";

type Row = Record<string, unknown>;

function cell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  if (Array.isArray(v)) return v.every((x) => typeof x !== "object" || x === null) ? v.join(",") || "-" : JSON.stringify(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function isRowList(v: unknown): v is Row[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => x !== null && typeof x === "object" && !Array.isArray(x));
}

/** A table of rows (columns: the union of keys, in first-seen order). */
export function table(rows: Row[], colours?: Palette): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const fmt = (vals: string[]) => vals.map((v, i) => (v.length > widths[i]! ? v.slice(0, widths[i]! - 1) + "…" : v.padEnd(widths[i]!))).join("  ").trimEnd();
  const header = fmt(cols.map((c) => c.toUpperCase()));
  return [colours ? colours.bold(header) : header, ...cells.map(fmt)].join("\n");
}

function flatten(obj: Row, prefix: string, out: Array<[string, unknown]>, tables: Array<[string, Row[]]>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isRowList(v)) tables.push([key, v]);
    else if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) flatten(v as Row, key, out, tables);
    else out.push([key, v]);
  }
}

/** Renders any JSON answer for a terminal. */
export function render(data: unknown, colours?: Palette): string {
  if (isRowList(data)) return table(data, colours);
  if (data === null || typeof data !== "object") return cell(data);
  if (Array.isArray(data)) return data.length ? data.map(cell).join("\n") : "(none)";
  const pairs: Array<[string, unknown]> = [];
  const tables: Array<[string, Row[]]> = [];
  flatten(data as Row, "", pairs, tables);
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  const parts: string[] = [];
  if (pairs.length) parts.push(pairs.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join("\n"));
  for (const [name, rows] of tables) parts.push(`${name}:\n${table(rows, colours)}`);
  return parts.join("\n\n");
}
