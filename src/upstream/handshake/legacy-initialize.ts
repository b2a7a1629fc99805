import { LATEST_PROTOCOL_VERSION } from "../../protocol/jsonrpc.js";
import type { UpstreamIdentity } from "../connection.js";
import type { HandshakeChannel } from "./request-within.js";

/**
 * What the gateway declares to shared upstream sessions: it relays these on
 * behalf of whichever client's call is running. No `roots.listChanged`: a
 * shared session has no one roots list whose changes it could announce (see
 * docs/adr/0120-roots-and-upstream-session-modes.md). A per_client session
 * declares its client's own capabilities instead.
 */
export const GATEWAY_CLIENT_CAPABILITIES: Readonly<Record<string, unknown>> = { sampling: {}, elicitation: {}, roots: {} };

/**
 * The legacy (2024-11-05..2025-11-25) handshake: `initialize`, then
 * `notifications/initialized`. The upstream's answer fixes the negotiated
 * version, its capabilities and instructions for the connection's lifetime.
 */
export async function legacyInitialize(
  channel: HandshakeChannel,
  upstream: string,
  clientInfo: { name: string; version: string },
  timeoutMs: number,
  capabilities: Readonly<Record<string, unknown>> = GATEWAY_CLIENT_CAPABILITIES,
): Promise<UpstreamIdentity> {
  // No timer of its own, as before the era probe existed: a slow-starting child is waited for (the
  // transports bound what they can, e.g. HTTP header timeouts), and a restart only costs another slow start.
  const result = await channel.request("initialize", { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities, clientInfo }, timeoutMs);
  const identity: UpstreamIdentity = {
    era: "legacy",
    protocolVersion: result.protocolVersion as string,
    capabilities: (result.capabilities as Record<string, unknown>) ?? {},
    serverInfo: (result.serverInfo as UpstreamIdentity["serverInfo"]) ?? { name: upstream, version: "" },
    instructions: result.instructions as string | undefined,
  };
  channel.notify({ jsonrpc: "2.0", method: "notifications/initialized" });
  return identity;
}
