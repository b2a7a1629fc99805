import type { GatewayConfig } from "../../config/schema.js";

/**
 * Whether (and how) the MCP semantic-convention instrumentation runs,
 * resolved from `telemetry.*` and the standard OTEL_* variables. Pure: no
 * OpenTelemetry module is loaded to decide, so a gateway with telemetry off
 * never loads the SDK (docs/adr/0190-opentelemetry-behind-one-relay-seam.md).
 */
export interface OtelSettings {
  /** Spans exported over OTLP/HTTP. */
  traces: boolean;
  /** The mcp.* histograms exported over OTLP/HTTP. */
  otlpMetrics: boolean;
  /** The same histograms on /metrics (prom-client). */
  prometheus: boolean;
  /** Config's collector base URL; undefined: the exporters read OTEL_EXPORTER_OTLP_* themselves. */
  endpoint?: string;
  headers: Record<string, string>;
  metricsIntervalMs: number;
  tracesDelayMs: number;
  /** Root sampling ratio under the parent-based sampler. */
  samplingRatio: number;
  recordContent: boolean;
  serviceName: string;
}

const truthy = (v: string | undefined) => v !== undefined && /^(true|1|yes)$/i.test(v.trim());
const isNone = (v: string | undefined) => v !== undefined && v.split(",").map((s) => s.trim().toLowerCase()).includes("none");

/** The instrumentation's settings, or undefined when it is off (nothing to load, nothing on the hot path). */
export function otelSettings(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): OtelSettings | undefined {
  const t = config.telemetry;
  if (truthy(env.OTEL_SDK_DISABLED)) return t.mcp_metrics ? offOtlp(config, env) : undefined;
  const anyEndpoint = t.otlp.endpoint !== undefined || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const traces = t.otlp.traces && !isNone(env.OTEL_TRACES_EXPORTER) && (anyEndpoint || Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT));
  const otlpMetrics = t.otlp.metrics && !isNone(env.OTEL_METRICS_EXPORTER) && (anyEndpoint || Boolean(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT));
  if (!traces && !otlpMetrics && !t.mcp_metrics) return undefined;
  return { ...offOtlp(config, env), traces, otlpMetrics, prometheus: true };
}

function offOtlp(config: GatewayConfig, env: NodeJS.ProcessEnv): OtelSettings {
  const o = config.telemetry.otlp;
  const envRatio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = o.sampling_ratio ?? (env.OTEL_TRACES_SAMPLER_ARG !== undefined && envRatio >= 0 && envRatio <= 1 ? envRatio : 1);
  return {
    traces: false,
    otlpMetrics: false,
    prometheus: true,
    endpoint: o.endpoint?.replace(/\/+$/, ""),
    headers: { ...o.headers },
    metricsIntervalMs: o.metrics_interval,
    tracesDelayMs: o.traces_delay,
    samplingRatio: ratio,
    recordContent: o.record_content,
    serviceName: o.service_name ?? env.OTEL_SERVICE_NAME ?? "mcp-gateway",
  };
}
