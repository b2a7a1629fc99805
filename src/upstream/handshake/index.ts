import type { UpstreamIdentity } from "../connection.js";
import { legacyInitialize } from "./legacy-initialize.js";
import { DiscoverFailed, modernDiscover, type ProbeWire } from "./modern-discover.js";
import type { HandshakeChannel } from "./request-within.js";

export { DiscoverFailed } from "./modern-discover.js";
export { GATEWAY_CLIENT_CAPABILITIES } from "./legacy-initialize.js";
export { META, MODERN_PROTOCOL_VERSION, hasEnvelopeClaim, stampEnvelope, type EnvelopeMaterial } from "./envelope.js";

/** The `protocol:` key of an upstream: which era the gateway speaks to it. */
export type ProtocolMode = "auto" | "legacy" | "modern";

/** How one connection negotiates its era. */
export interface HandshakePlan {
  mode: ProtocolMode;
  /**
   * The wire the upstream sits on. Only stdio and Streamable HTTP have a
   * 2026-07-28 binding; `other` (SSE, WebSocket) is always legacy.
   */
  wire: ProbeWire | "other";
  /** Longest wait for the probe (default 60 s, the SDK v2 client's request timeout); a silent stdio server costs this once per spawn. */
  probeTimeoutMs?: number;
  /** Client capabilities to declare (default GATEWAY_CLIENT_CAPABILITIES; a per_client session mirrors its client's). */
  capabilities?: Readonly<Record<string, unknown>>;
}

/**
 * How long the probe may go unanswered. Long on purpose: on stdio the answer
 * to a child that is still starting (a loaded machine, a big runtime) only
 * comes late, and reading that silence as "legacy" would pin a modern server
 * to the wrong era. On HTTP the transport's own timeouts fire first.
 */
const DEFAULT_PROBE_TIMEOUT_MS = 60_000;

/**
 * Replicas whose stdio child exited on the probe: the next spawn goes straight
 * to `initialize` (SDKs that terminate on any pre-initialize request are
 * legacy servers; probing them again would kill every child).
 */
const knownLegacy = new Set<string>();

/**
 * Runs the handshake the plan asks for and returns the upstream's identity
 * (era, version, capabilities, instructions). Throws when the upstream cannot
 * be reached, or when `modern` is required and the upstream is not modern.
 */
export async function negotiate(
  channel: HandshakeChannel,
  plan: HandshakePlan,
  names: { upstream: string; replica: string },
  clientInfo: { name: string; version: string },
  timeoutMs: number,
): Promise<UpstreamIdentity> {
  const probe = plan.mode !== "legacy" && plan.wire !== "other" && !(plan.mode === "auto" && knownLegacy.has(names.replica));
  if (!probe) return legacyInitialize(channel, names.upstream, clientInfo, timeoutMs, plan.capabilities);
  let outcome;
  try {
    outcome = await modernDiscover(channel, names.upstream, clientInfo, plan.wire as ProbeWire, plan.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof DiscoverFailed && err.closed && plan.mode === "auto") knownLegacy.add(names.replica);
    throw err;
  }
  if (outcome.era === "modern") return outcome.identity;
  if (plan.mode === "modern") throw new DiscoverFailed(`upstream is configured protocol: modern but is not a 2026-07-28 server: ${outcome.reason}`);
  return legacyInitialize(channel, names.upstream, clientInfo, timeoutMs, plan.capabilities);
}
