import type { GatewayConfig } from "../../config/schema.js";
import type { Relay } from "../../relay/relay.js";
import type { SessionRegistry } from "../../session/registry.js";
import type { UpstreamManager } from "../../upstream/manager.js";
import type { Registry } from "prom-client";
import type { ListenerContext } from "../../listeners/context.js";
import { log } from "../channels.js";
import { otelSettings, type OtelSettings } from "./settings.js";
import { exportFailureSink } from "./export-failures.js";
import { wantHttpTraceContext } from "../../protocol/trace-context.js";
import type { UpstreamEndpoint } from "./relay-tracer.js";

/** Longest wait for the last export at shutdown (ms). */
const SHUTDOWN_BOUND_MS = 2000;

/** What the gateway hands the OpenTelemetry layer (narrow: it plugs one hook into the relay). */
export interface OtelDeps {
  config: GatewayConfig;
  relay: Relay;
  registry: SessionRegistry;
  manager: UpstreamManager;
  /** The listeners' context: refusals at the HTTP edge and client addresses are heard there. */
  context: ListenerContext;
  /** The gateway's prom-client registry (/metrics). */
  metrics: Registry;
  version: string;
  env?: NodeJS.ProcessEnv;
}

/** The running instrumentation of one gateway. */
export interface OtelHandle {
  readonly settings: OtelSettings;
  /** Resolves once the SDK is loaded and the relay's tracer is set (the gateway awaits it before serving). */
  readonly ready: Promise<void>;
  /** Exports everything finished so far (tests, and shutdown). */
  flush(): Promise<void>;
  /** Flushes and stops the exporters. */
  close(): Promise<void>;
}

/**
 * Turns the MCP semantic-convention instrumentation on when settings say so
 * (src/telemetry/otel/settings.ts); otherwise returns undefined and loads
 * nothing: the relay's `tracer` stays undefined, which is all the hot path
 * ever checks. The SDK comes in by dynamic import.
 */
export function installOpenTelemetry(deps: OtelDeps): OtelHandle | undefined {
  const settings = otelSettings(deps.config, deps.env);
  if (settings === undefined) return undefined;
  wantHttpTraceContext();
  let providers: { flush(): Promise<void>; shutdown(): Promise<void> } | undefined;
  const ready = (async () => {
    const sdk = await import("./sdk.js");
    const p = sdk.createProviders(settings, deps.version, exportFailureSink(deps.metrics));
    providers = p;
    const sinks = [];
    if (p.sink) sinks.push(p.sink);
    if (settings.prometheus) sinks.push(sdk.prometheusSink(deps.metrics));
    const tracer = new sdk.ServerTracer({ tracer: p.tracer, sinks, recordContent: settings.recordContent, endpointOf: endpointResolver(deps.manager) });
    deps.registry.onEnd((session) => tracer.sessionEnded(session));
    deps.relay.tracer = tracer;
    const connected = deps.context.onConnected;
    deps.context.onConnected = (session, peer) => {
      tracer.connected(session, sdk.peerOf(peer));
      connected(session, peer);
    };
    deps.context.onRefused = (req, r) => {
      const version = req.headers["mcp-protocol-version"];
      tracer.refused({ id: "", era: "legacy", transport: r.transport, protocolVersion: typeof version === "string" ? version : "", clientId: r.clientId }, r.message, r.answer, sdk.peerOf(req.socket));
    };
    log("info", "MCP.Telemetry", `OpenTelemetry on: traces ${settings.traces ? "on" : "off"}, OTLP metrics ${settings.otlpMetrics ? "on" : "off"}, sampling ${settings.samplingRatio}${settings.endpoint ? `, collector ${settings.endpoint}` : ""}`);
  })();
  return {
    settings,
    ready,
    async flush() {
      await ready;
      await providers?.flush();
    },
    async close() {
      await ready.catch(() => {});
      if (providers === undefined) return;
      // A collector that is down must not hold the gateway's shutdown for the exporters' 10-30 s timeouts.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_BOUND_MS);
        timer.unref();
      });
      await Promise.race([providers.shutdown().catch(() => {}), bound]);
      clearTimeout(timer);
    },
  };
}

/** server.address/port and network.* of each replica, worked out once per replica from its config. */
function endpointResolver(manager: UpstreamManager): (upstream: string, replica: string) => UpstreamEndpoint {
  const cache = new Map<string, UpstreamEndpoint>();
  return (upstream, replica) => {
    let e = cache.get(replica);
    if (e !== undefined) return e;
    const group = manager.groups.get(upstream);
    const kind = group?.config.transport;
    // A per_client session's connection is named `<replica>@<client session>`.
    const specId = replica.split("@")[0];
    const url = group?.replicas.find((r) => r.spec.id === specId)?.spec.url ?? group?.config.url;
    e = { transport: kind === "stdio" || kind === undefined ? "pipe" : "tcp" };
    if (kind === "websocket") e.protocolName = "websocket";
    else if (kind === "streamable_http" || kind === "sse") {
      // The upstream transports' undici pools speak HTTP/1.1 (no allowH2).
      e.protocolName = "http";
      e.protocolVersion = "1.1";
    }
    if (url !== undefined && kind !== "stdio") {
      try {
        const u = new URL(url);
        e.address = u.hostname.replace(/^\[|\]$/g, "");
        e.port = u.port ? Number(u.port) : u.protocol === "https:" || u.protocol === "wss:" ? 443 : 80;
      } catch {
        // a URL the schema accepted but URL() does not: no address attributes
      }
    }
    // Per-client connections come and go; replicas are few and fixed.
    if (!replica.includes("@")) cache.set(replica, e);
    return e;
  };
}
