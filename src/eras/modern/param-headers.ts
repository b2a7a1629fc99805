/**
 * The client's `Mcp-Param-*` headers (SEP-2243) on the modern wire.
 *
 * - Validated where the tool declares them: for every argument a tool's
 *   `inputSchema` marks with `x-mcp-header` and the body carries as a
 *   primitive, the header must be present and decode to the body's value;
 *   otherwise HTTP 400 `-32020` with `data.mismatch` (the same rung the SDK
 *   v2 server applies). The body is the truth; the header only mirrors it.
 * - Forwarded as they came to a modern upstream (intermediaries pass unknown
 *   `Mcp-Param-*` on); the upstream adapter then overwrites every header it
 *   derives from the body itself, so a forwarded header can never disagree
 *   with what the upstream reads.
 * Nothing in the gateway decides anything from these headers.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { CatalogItem } from "../../routing/catalog.js";
import { scanParamHeaders, type ParamHeaderDeclaration } from "../../upstream/modern/param-headers.js";
import { decodeHeaderValue } from "./envelope.js";
import { ModernError } from "./errors.js";

const PREFIX = "mcp-param-";
/** A decimal the way JSON writes numbers: what a numeric header may compare as. */
const CANONICAL_DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
/** Declarations per listed tool object (a refresh replaces the object, so the cache follows the catalog). */
const declarationsOf = new WeakMap<object, readonly ParamHeaderDeclaration[]>();

/** The `Mcp-Param-*` headers of a request, lower-cased as node gives them; undefined when there are none. */
export function clientParamHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const k in headers) {
    if (!k.startsWith(PREFIX)) continue;
    const v = headers[k];
    if (typeof v === "string") (out ??= {})[k] = v;
  }
  return out;
}

function declarations(tool: CatalogItem): readonly ParamHeaderDeclaration[] {
  let d = declarationsOf.get(tool);
  if (d === undefined) {
    d = scanParamHeaders(tool.inputSchema);
    declarationsOf.set(tool, d);
  }
  return d;
}

function primitive(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function mismatch(header: string, detail: string): ModernError {
  return new ModernError("header_mismatch", { detail }, { mismatch: { header, body: detail } });
}

/**
 * Checks the client's `Mcp-Param-*` headers of one `tools/call` against its
 * arguments, for the tool as the catalog lists it (the gateway-facing name;
 * its schema is the upstream's). Throws a -32020 ModernError on a missing or
 * disagreeing header.
 */
export function checkParamHeaders(tool: CatalogItem | undefined, args: unknown, headers: Readonly<Record<string, string>> | undefined): void {
  if (tool === undefined) return;
  const declared = declarations(tool);
  for (const d of declared) {
    let node: unknown = args;
    for (const key of d.path) node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    const body = primitive(node);
    if (body === undefined) continue;
    const name = `Mcp-Param-${d.header}`;
    const raw = headers?.[`${PREFIX}${d.header.toLowerCase()}`];
    if (raw === undefined) throw mismatch(name, `the body carries ${d.path.join(".")}=${JSON.stringify(node)} but the ${name} header is absent`);
    const decoded = decodeHeaderValue(raw.trim());
    if (decoded === undefined) throw mismatch(name, `the ${name} header carries an invalid Base64 sentinel value`);
    const same = typeof node === "number" && CANONICAL_DECIMAL.test(decoded) ? Number(decoded) === node : decoded === body;
    if (!same) throw mismatch(name, `the ${name} header decodes to ${JSON.stringify(decoded)} but the body carries ${d.path.join(".")}=${JSON.stringify(node)}`);
  }
}
