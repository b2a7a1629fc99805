/**
 * `server/discover` (SEP-2575): the gateway's merged view of every upstream.
 * Versions of both eras (the gateway bridges whatever its upstreams speak),
 * the union of capabilities, and each upstream's instructions.
 */
import { ALL_PROTOCOL_VERSIONS } from "../../protocol/era.js";

/** What discover reads from the routing layer. */
export interface DiscoverSource {
  capabilities(): Record<string, unknown>;
  instructions(): string | undefined;
}

/** Capabilities that mean nothing on the modern wire's server side and are left out. */
const LEGACY_ONLY = new Set(["experimental"]);

/** The discover result (before the modern stamp adds resultType, serverInfo and the cache hint). */
export function discoverResult(source: DiscoverSource): Record<string, unknown> {
  const capabilities: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source.capabilities())) if (!LEGACY_ONLY.has(k)) capabilities[k] = v;
  const result: Record<string, unknown> = { supportedVersions: [...ALL_PROTOCOL_VERSIONS], capabilities };
  const instructions = source.instructions();
  if (instructions) result.instructions = instructions;
  return result;
}
