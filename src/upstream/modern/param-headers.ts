import { encodeHeaderValue } from "../transports/modern-headers.js";

/** One `x-mcp-header` declaration of a tool's `inputSchema` (SEP-2243): where the argument is, which header mirrors it. */
export interface ParamHeaderDeclaration {
  path: readonly string[];
  header: string;
}

/** RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Deepest `properties` chain scanned (schemas are client-supplied data; bound the walk). */
const MAX_DEPTH = 16;

/**
 * The `x-mcp-header` declarations of a tool, found only where SEP-2243
 * allows them: on properties reachable through a chain of `properties` keys.
 * Malformed declarations are skipped: the upstream's own validation owns
 * reporting them, the gateway only mirrors what it can.
 */
export function scanParamHeaders(inputSchema: unknown): ParamHeaderDeclaration[] {
  const out: ParamHeaderDeclaration[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (node === null || typeof node !== "object" || path.length > MAX_DEPTH) return;
    const schema = node as Record<string, unknown>;
    const header = schema["x-mcp-header"];
    if (path.length > 0 && typeof header === "string" && TOKEN.test(header)) out.push({ path, header });
    const properties = schema.properties;
    if (properties !== null && typeof properties === "object") {
      for (const [key, child] of Object.entries(properties as Record<string, unknown>)) visit(child, [...path, key]);
    }
  };
  visit(inputSchema, []);
  return out;
}

function primitive(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/**
 * The `Mcp-Param-{Name}` headers of one `tools/call`: each declared
 * argument present as a primitive, Base64-wrapped when unsafe; absent or
 * null arguments get no header (as the spec requires).
 */
export function buildParamHeaders(declarations: readonly ParamHeaderDeclaration[], args: unknown): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const d of declarations) {
    let node: unknown = args;
    for (const key of d.path) node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    const value = primitive(node);
    if (value !== undefined) (out ??= {})[`mcp-param-${d.header.toLowerCase()}`] = encodeHeaderValue(value);
  }
  return out;
}
