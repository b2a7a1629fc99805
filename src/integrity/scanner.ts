import { SCAN_RULES, type RuleScope, type ScanRule, type Severity } from "./scan-rules.js";
import type { Definition, PinKind } from "./fingerprint.js";

/** One thing the scan found in a definition. */
export interface Finding {
  rule: string;
  severity: Severity;
  explanation: string;
  /** Where: `description`, `name`, `inputSchema.properties.path.description`, `arguments[0].description`. */
  field: string;
  /** The offending span in that field (UTF-16 offsets) and its text, invisible characters spelled `\u{...}`. */
  span: { start: number; end: number; text: string };
  /** Shadowing: the other upstream's tool the text names. */
  shadows?: string;
}

/** Another upstream's tool, for shadowing: its upstream and its upstream-side name. */
export interface OtherTool {
  upstream: string;
  name: string;
}

const SEVERITY_ORDER: Record<Severity, number> = { low: 0, medium: 1, high: 2 };

/** True when `severity` is at least `threshold`. */
export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_ORDER[severity] >= SEVERITY_ORDER[threshold];
}

/** Spells invisible and control characters so a log line shows what the model would read. */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u001F\u007F-\u009F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]|[\u{E0000}-\u{E007F}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`);
}

interface Text {
  scope: RuleScope;
  field: string;
  value: string;
}

/** Every description/title inside a JSON Schema, with its path (bounded depth: schemas from upstreams are untrusted). */
function schemaTexts(schema: unknown, path: string, out: Text[], depth = 0): void {
  if (!schema || typeof schema !== "object" || depth > 32) return;
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => schemaTexts(s, `${path}[${i}]`, out, depth + 1));
    return;
  }
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if ((key === "description" || key === "title") && typeof value === "string") out.push({ scope: "schema", field: `${path}.${key}`, value });
    else if (typeof value === "object") schemaTexts(value, `${path}.${key}`, out, depth + 1);
  }
}

/** The texts of a definition, each with its scope and path. */
function textsOf(kind: PinKind, d: Definition): Text[] {
  const out: Text[] = [];
  if (typeof d.name === "string") out.push({ scope: "name", field: "name", value: d.name });
  for (const f of ["title", "description"] as const) if (typeof d[f] === "string") out.push({ scope: "description", field: f, value: d[f] as string });
  if (kind === "tools") {
    schemaTexts(d.inputSchema, "inputSchema", out);
    schemaTexts(d.outputSchema, "outputSchema", out);
  }
  if (kind === "prompts" && Array.isArray(d.arguments)) {
    d.arguments.forEach((a, i) => {
      const arg = a as Record<string, unknown>;
      if (typeof arg?.description === "string") out.push({ scope: "schema", field: `arguments[${i}].description`, value: arg.description });
    });
  }
  return out;
}

const compiled = new Map<string, RegExp>();
function regexOf(rule: ScanRule): RegExp {
  let re = compiled.get(rule.id);
  if (!re) compiled.set(rule.id, (re = new RegExp(rule.pattern, rule.flags.includes("g") ? rule.flags : `${rule.flags}g`)));
  re.lastIndex = 0;
  return re;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The first other-upstream tool name a text mentions as a word (names of 4+ characters: shorter ones are everyday words). */
function mentionedTool(text: string, others: readonly OtherTool[]): OtherTool | undefined {
  for (const o of others) {
    if (o.name.length < 4) continue;
    if (new RegExp(`(^|[^A-Za-z0-9_])${escapeRegExp(o.name)}($|[^A-Za-z0-9_])`, "i").test(text)) return o;
  }
  return undefined;
}

/** Another upstream's tool whose name this name contains without being it (`send_email_v2` contains `send_email`). */
function containedTool(name: string, others: readonly OtherTool[]): OtherTool | undefined {
  const lower = name.toLowerCase();
  return others.find((o) => o.name.length >= 4 && lower !== o.name.toLowerCase() && lower.includes(o.name.toLowerCase()));
}

/**
 * True when a definition makes a shadowing claim (replace, instead of, ...),
 * whether or not it names another upstream's tool yet: such definitions are
 * scanned again when another upstream's tool names change.
 */
export function claimsShadowing(kind: PinKind, definition: Definition, rules: readonly ScanRule[] = SCAN_RULES): boolean {
  const texts = textsOf(kind, definition);
  return rules.some((r) => r.kind === "shadowing" && texts.some((t) => r.scope.includes(t.scope) && regexOf(r).test(t.value)));
}

/**
 * Scans one definition against the rules (SCAN_RULES by default). `others`
 * are the tools of the other upstreams, for cross-server shadowing. At most
 * one finding per rule and field (the first span): enough to explain, and a
 * hostile description cannot blow up the report.
 */
export function scanDefinition(kind: PinKind, definition: Definition, others: readonly OtherTool[] = [], rules: readonly ScanRule[] = SCAN_RULES): Finding[] {
  const findings: Finding[] = [];
  for (const text of textsOf(kind, definition)) {
    for (const rule of rules) {
      if (!rule.scope.includes(text.scope)) continue;
      const match = regexOf(rule).exec(text.value);
      if (!match) continue;
      let shadows: string | undefined;
      if (rule.kind === "shadowing") {
        const other = text.scope === "name" ? containedTool(text.value, others) : mentionedTool(text.value, others);
        if (!other) continue;
        shadows = `${other.upstream}/${other.name}`;
      }
      findings.push({
        rule: rule.id,
        severity: rule.severity,
        explanation: rule.explanation,
        field: text.field,
        span: { start: match.index, end: match.index + match[0].length, text: visible(match[0]).slice(0, 200) },
        ...(shadows ? { shadows } : {}),
      });
    }
  }
  return findings;
}
