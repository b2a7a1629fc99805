import { Counter, type Registry } from "../prom.js";
import { redactText } from "../../config/redact.js";
import { ThrottledLog } from "../throttled-log.js";

/** The OTLP signals the gateway exports. */
export type OtlpSignal = "traces" | "metrics";

/** A failed export batch: what the exporters' result callback carried. */
export type ExportFailureSink = (signal: OtlpSignal, error: Error | undefined) => void;

/** Prometheus name of the failed-export counter (docs/operations.md, "OpenTelemetry"). */
export const EXPORT_FAILURES_METRIC = "gateway_otel_export_failures_total";

/** At most one warning per signal per this interval (ms); the next line says how many it left out. */
const WARNING_INTERVAL_MS = 60_000;

/**
 * Makes a collector that is down or refusing visible: every failed export
 * batch (after the exporter's own retries) counts in
 * `gateway_otel_export_failures_total{signal}` and logs a warning, throttled
 * to one line per signal per minute. The error text goes through redactText:
 * an exporter error may quote the collector's URL or its answer.
 */
export function exportFailureSink(registry: Registry, intervalMs = WARNING_INTERVAL_MS): ExportFailureSink {
  const counter =
    (registry.getSingleMetric(EXPORT_FAILURES_METRIC) as Counter<"signal"> | undefined) ??
    new Counter({ name: EXPORT_FAILURES_METRIC, help: "OTLP export batches that failed (collector down, refusing or too slow), after the exporter's retries", labelNames: ["signal"], registers: [registry] });
  // Known from the start, so a dashboard sees 0 before the first failure.
  counter.inc({ signal: "traces" }, 0);
  counter.inc({ signal: "metrics" }, 0);
  const warnings: Record<OtlpSignal, ThrottledLog> = {
    traces: new ThrottledLog("warn", "MCP.Telemetry", () => intervalMs),
    metrics: new ThrottledLog("warn", "MCP.Telemetry", () => intervalMs),
  };
  return (signal, error) => {
    counter.inc({ signal });
    const why = error === undefined ? "no reason given" : redactText(String(error.message || error));
    warnings[signal].log(`OTLP ${signal} export failed: ${why}; the data of that batch is dropped (see ${EXPORT_FAILURES_METRIC})`, { signal });
  };
}

/** The exporter surface watched: its `export(items, resultCallback)`. */
interface Exporter<T> {
  export(items: T, resultCallback: (result: { code: number; error?: Error }) => void): void;
}

/**
 * Puts a watch on `exporter.export`: a result that is not SUCCESS (0) goes to
 * `onFailure` before the SDK sees it. Patched on the instance, so every other
 * method (temporality selection of the metric exporter, shutdown) is the
 * exporter's own.
 */
export function watchExports<T, E extends Exporter<T>>(exporter: E, signal: OtlpSignal, onFailure: ExportFailureSink): E {
  const send = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    send(items, (result) => {
      if (result.code !== 0) onFailure(signal, result.error);
      done(result);
    });
  return exporter;
}
