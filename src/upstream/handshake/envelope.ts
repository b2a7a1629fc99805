/**
 * The per-request `_meta` envelope of MCP 2026-07-28 (SEP-2575/2567), as the
 * gateway writes it toward modern upstreams. A modern server learns the
 * protocol version, the client's capabilities, its identity and the wanted
 * log level from every request, since there is no `initialize` to carry them.
 */

import { META, MODERN_PROTOCOL_VERSIONS } from "../../protocol/era.js";

export { META } from "../../protocol/era.js";

/** The modern revision the gateway speaks to upstreams (the newest it knows). */
export const MODERN_PROTOCOL_VERSION: string = MODERN_PROTOCOL_VERSIONS[0];

/** What one envelope says about the caller. */
export interface EnvelopeMaterial {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string };
  logLevel?: string;
}

/** True when a request's params already carry the modern envelope claim (it came from a modern caller). */
export function hasEnvelopeClaim(params: Record<string, unknown> | undefined): boolean {
  const meta = params?._meta as Record<string, unknown> | undefined;
  return typeof meta === "object" && meta !== null && META.protocolVersion in meta;
}

/**
 * Writes the envelope into `params._meta` in place (the relay's own parsed
 * copy), keeping every other `_meta` key (progress token, trace context).
 * Capabilities and log level a modern caller put there itself win: they are
 * its own claims; the protocol version is always the one negotiated with the
 * upstream.
 */
export function stampEnvelope(params: Record<string, unknown>, material: EnvelopeMaterial): void {
  let meta = params._meta as Record<string, unknown> | undefined;
  if (typeof meta !== "object" || meta === null) params._meta = meta = {};
  meta[META.protocolVersion] = material.protocolVersion;
  if (!(META.clientCapabilities in meta)) meta[META.clientCapabilities] = material.clientCapabilities;
  if (!(META.clientInfo in meta)) meta[META.clientInfo] = material.clientInfo;
  if (material.logLevel !== undefined && !(META.logLevel in meta)) meta[META.logLevel] = material.logLevel;
}
