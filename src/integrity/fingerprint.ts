import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";

/** The definition kinds the gateway pins (resources are data, not instructions, and are not pinned). */
export type PinKind = "tools" | "prompts" | "templates";

/** The kinds in a fixed order (iteration, reports). */
export const PIN_KINDS: readonly PinKind[] = ["tools", "prompts", "templates"];

/**
 * The fields a model reads, per kind: only these are fingerprinted, so an
 * upstream adding `_meta` or reordering keys is not drift, while a changed
 * description, schema or annotation is.
 */
export const MODEL_FIELDS: Readonly<Record<PinKind, readonly string[]>> = {
  tools: ["name", "title", "description", "inputSchema", "outputSchema", "annotations"],
  prompts: ["name", "title", "description", "arguments"],
  templates: ["name", "title", "description", "uriTemplate", "mimeType", "annotations"],
};

/** The model-read part of a definition, as a plain JSON object. */
export type Definition = Record<string, unknown>;

/** A definition's two hashes: with its name (the pin) and without it (to recognise renames). */
export interface Fingerprint {
  /** `sha256:<hex>` over the JCS form of the model-read fields. */
  fingerprint: string;
  /** The same without `name`: equal for a tool renamed and otherwise unchanged. */
  content: string;
}

/** Picks the model-read fields of an item (absent fields stay absent). */
export function modelView(kind: PinKind, item: Record<string, unknown>): Definition {
  const out: Definition = {};
  for (const field of MODEL_FIELDS[kind]) if (item[field] !== undefined) out[field] = item[field];
  return out;
}

function sha256(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** Counts fingerprints computed, so a test can show none are computed per call. */
export const fingerprintCounter = { computed: 0 };

/** Fingerprints one definition (its model view). */
export function fingerprintOf(definition: Definition): Fingerprint {
  fingerprintCounter.computed++;
  const { name: _name, ...content } = definition;
  return { fingerprint: sha256(canonicalJson(definition)), content: sha256(canonicalJson(content)) };
}
