import { createHash } from "node:crypto";

/** What many clients accept as a tool name (and the default limit they cap it at). */
export const CLIENT_NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;
/** Default `routing.max_name_length`. */
export const DEFAULT_MAX_NAME_LENGTH = 64;
/** Hex digits of the hash suffix: 32 bits, so two given names collide with odds 1 in 4e9. */
const HASH_DIGITS = 8;

/**
 * The name a client sees for a composed name (`<upstream>__<name>` or a bare
 * name): unchanged when it fits `limit` characters and
 * `^[a-zA-Z0-9_-]+$`; otherwise every other character becomes `_`, the name
 * is cut to leave room, and `_` plus 8 hex digits of the SHA-256 of the
 * original name are appended. A pure function of its input, so every node
 * and every restart compute the same name; the catalog maps it back to the
 * upstream's name on calls and reports the (astronomically unlikely)
 * collision instead of misrouting.
 */
export function shortenName(composed: string, limit = DEFAULT_MAX_NAME_LENGTH): string {
  if (composed.length <= limit && CLIENT_NAME_PATTERN.test(composed)) return composed;
  const hash = createHash("sha256").update(composed).digest("hex").slice(0, HASH_DIGITS);
  const head = composed.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, Math.max(1, limit - HASH_DIGITS - 1));
  return `${head}_${hash}`;
}
