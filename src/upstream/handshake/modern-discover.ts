import type { UpstreamIdentity } from "../connection.js";
import { META, MODERN_PROTOCOL_VERSION } from "./envelope.js";
import { GATEWAY_CLIENT_CAPABILITIES } from "./legacy-initialize.js";
import { HandshakeTimeout, requestWithin, type HandshakeChannel } from "./request-within.js";

/** How the probe's wire behaves when the server says nothing (stdio: a legacy server; HTTP: an outage). */
export type ProbeWire = "stdio" | "http";

/** What `server/discover` told us: a modern upstream, or evidence that it speaks the legacy era. */
export type DiscoverOutcome = { era: "modern"; identity: UpstreamIdentity } | { era: "legacy"; reason: string };

/** The probe could not tell the era: the upstream is unreachable, refuses us, or (stdio) died on the probe. */
export class DiscoverFailed extends Error {
  override name = "DiscoverFailed";
  constructor(
    message: string,
    /** The connection is gone (a stdio child that exits on an unknown pre-initialize request). */
    readonly closed = false,
  ) {
    super(message);
  }
}

/** The `-32022` UnsupportedProtocolVersion code of the 2026-07-28 error contract. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/**
 * Probes with `server/discover` carrying the full envelope, classified the way
 * the SDK v2 client does (`probeClassifier.ts`): only a discover result that
 * offers 2026-07-28 is modern; a JSON-RPC error (method not found, a 2025
 * server's "no session" 400, `-32022` without our version) is legacy; an
 * outage, a 401/403 or a 5xx is an error and never an era verdict. On stdio a
 * silent server, or one that exits on the probe, is a legacy server.
 */
export async function modernDiscover(
  channel: HandshakeChannel,
  upstream: string,
  clientInfo: { name: string; version: string },
  wire: ProbeWire,
  timeoutMs: number,
): Promise<DiscoverOutcome> {
  let result: Record<string, unknown>;
  try {
    result = await requestWithin(
      channel,
      "server/discover",
      {
        _meta: {
          [META.protocolVersion]: MODERN_PROTOCOL_VERSION,
          [META.clientCapabilities]: GATEWAY_CLIENT_CAPABILITIES,
          [META.clientInfo]: clientInfo,
        },
      },
      timeoutMs,
    );
  } catch (err) {
    return classifyFailure(err, wire);
  }
  return classifyResult(result, upstream);
}

function classifyResult(result: Record<string, unknown>, upstream: string): DiscoverOutcome {
  const versions = result.supportedVersions;
  if (!Array.isArray(versions) || !versions.every((v) => typeof v === "string")) {
    return { era: "legacy", reason: "server/discover answered without supportedVersions" };
  }
  if (!versions.includes(MODERN_PROTOCOL_VERSION)) {
    return { era: "legacy", reason: `server/discover offers ${versions.join(", ") || "no version"}, not ${MODERN_PROTOCOL_VERSION}` };
  }
  const meta = (result._meta as Record<string, unknown> | undefined) ?? {};
  // Revision 2026-07-28 moved serverInfo into the result's _meta (spec PR #3002); early servers kept it in the body.
  const serverInfo = (meta[META.serverInfo] ?? result.serverInfo) as UpstreamIdentity["serverInfo"] | undefined;
  const capabilities = result.capabilities;
  return {
    era: "modern",
    identity: {
      era: "modern",
      protocolVersion: MODERN_PROTOCOL_VERSION,
      supportedVersions: versions as string[],
      capabilities: typeof capabilities === "object" && capabilities !== null ? (capabilities as Record<string, unknown>) : {},
      serverInfo: serverInfo ?? { name: upstream, version: "" },
      instructions: typeof result.instructions === "string" ? result.instructions : undefined,
    },
  };
}

function classifyFailure(err: unknown, wire: ProbeWire): DiscoverOutcome {
  if (err instanceof HandshakeTimeout) {
    if (wire === "stdio") return { era: "legacy", reason: "server/discover got no answer (a silent stdio server is a legacy server)" };
    throw new DiscoverFailed(`server/discover probe timed out: ${err.message}`);
  }
  const rpc = (err as { rpc?: { code?: number; message?: string; data?: Record<string, unknown> } }).rpc;
  if (!rpc) throw new DiscoverFailed(`server/discover probe failed: ${(err as Error).message}`);
  const data = rpc.data ?? {};
  // The gateway's own stand-in errors (the transport could not deliver the probe or its answer).
  if (data.error === "upstream_unavailable") {
    if (wire === "stdio") throw new DiscoverFailed(`the upstream closed the connection on server/discover (${String(data.reason ?? rpc.message)})`, true);
    throw new DiscoverFailed(`server/discover probe failed: ${String(data.reason ?? rpc.message)}`);
  }
  if (data.error === "upstream_error" && typeof data.status === "number") {
    const status = data.status;
    if (status === 401 || status === 403) throw new DiscoverFailed(`the upstream refused the server/discover probe (HTTP ${status}); check its headers/credentials`);
    if (status >= 500) throw new DiscoverFailed(`the upstream answered the server/discover probe with HTTP ${status}`);
    return { era: "legacy", reason: `server/discover answered HTTP ${status}` };
  }
  if (rpc.code === UNSUPPORTED_PROTOCOL_VERSION) {
    const supported = Array.isArray(data.supported) ? (data.supported as unknown[]).join(", ") : "an unknown list";
    return { era: "legacy", reason: `server/discover refused ${MODERN_PROTOCOL_VERSION} (-32022, supports ${supported})` };
  }
  return { era: "legacy", reason: `server/discover answered ${rpc.code ?? "an error"}: ${rpc.message ?? ""}`.trim() };
}
