/**
 * Everything that loads the OpenTelemetry SDK. Imported only dynamically,
 * by install.ts, once settings say telemetry is on: a gateway with it off
 * never parses these modules.
 */
import type { Attributes, Tracer } from "@opentelemetry/api";
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from "@opentelemetry/sdk-trace";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { OtelSettings } from "./settings.js";
import { DURATION_BUCKETS, METRIC } from "./semconv.js";
import type { DurationSink } from "./relay-tracer.js";
import { watchExports, type ExportFailureSink } from "./export-failures.js";

export { ServerTracer, peerOf } from "./relay-tracer.js";
export { prometheusSink } from "./prometheus.js";

/** The providers one gateway owns (never registered globally: several gateways may share a process). */
export interface OtelProviders {
  tracer?: Tracer;
  sink?: DurationSink;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const SCOPE = "mcp-gateway";

/** Builds the tracer and meter providers with OTLP/HTTP exporters from the settings. */
export function createProviders(settings: OtelSettings, version: string, onExportFailure: ExportFailureSink): OtelProviders {
  const resource = resourceFromAttributes({ "service.name": settings.serviceName, "service.version": version });
  // The exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) themselves when the config names no endpoint.
  const exporterOptions = (signal: "traces" | "metrics") =>
    settings.endpoint === undefined ? {} : { url: `${settings.endpoint}/v1/${signal}`, headers: settings.headers };
  let traces: TracerProvider | undefined;
  let meters: MeterProvider | undefined;
  let tracer: Tracer | undefined;
  let sink: DurationSink | undefined;
  if (settings.traces) {
    traces = new TracerProvider({
      resource,
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.samplingRatio) }),
      spanProcessors: [new BatchSpanProcessor({ exporter: watchExports(new OTLPTraceExporter(exporterOptions("traces")), "traces", onExportFailure), scheduledDelayMillis: settings.tracesDelayMs })],
    });
    tracer = traces.getTracer(SCOPE, version);
  }
  if (settings.otlpMetrics) {
    meters = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter: watchExports(new OTLPMetricExporter(exporterOptions("metrics")), "metrics", onExportFailure), exportIntervalMillis: settings.metricsIntervalMs })],
    });
    const meter = meters.getMeter(SCOPE, version);
    const histogram = (name: string, description: string) => meter.createHistogram(name, { unit: "s", description, advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
    const server = histogram(METRIC.serverOperation, "MCP request or notification duration as observed on the receiver from the time it was received until the result or ack is sent.");
    const client = histogram(METRIC.clientOperation, "The duration of the MCP request or notification as observed on the sender from the time it was sent until the response or ack is received.");
    const session = histogram(METRIC.serverSession, "The duration of the MCP session as observed on the MCP server.");
    sink = {
      server: (s: number, a: Attributes) => server.record(s, a),
      client: (s: number, a: Attributes) => client.record(s, a),
      session: (s: number, a: Attributes) => session.record(s, a),
    };
  }
  return {
    tracer,
    sink,
    // Both signals are always waited for: Promise.all would settle at the first failed export, before the
    // other signal's export was even tried (the metric reader rejects on a refused batch, the span processor does not).
    flush: () => settleBoth(traces?.forceFlush(), meters?.forceFlush()),
    shutdown: () => settleBoth(traces?.shutdown(), meters?.shutdown()),
  };
}

/** Waits for both, then rejects with the first failure if any. */
async function settleBoth(a: Promise<void> | undefined, b: Promise<void> | undefined): Promise<void> {
  const results = await Promise.allSettled([a, b]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
