import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

// prom-client's index loads everything it offers: the Pushgateway client (http, https), Summary (tdigest, bintrees),
// the cluster AggregatorRegistry (node:cluster) and, through the process CPU default metric's exemplars,
// @opentelemetry/api: ~1.4 MB of heap a gateway without OpenTelemetry never uses. The gateway needs four classes
// and the default metrics, so it requires just those files (prom-client has no `exports` map; the classes are the
// very ones its index re-exports)
// (docs/adr/0200-memory-per-idle-session.md, start-up).
const requirePart = createRequire(import.meta.url);

export const Registry = requirePart("prom-client/lib/registry") as typeof PromClient.Registry;
export type Registry = PromClient.Registry;
export const Counter = requirePart("prom-client/lib/counter") as typeof PromClient.Counter;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export const Gauge = requirePart("prom-client/lib/gauge") as typeof PromClient.Gauge;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export const Histogram = requirePart("prom-client/lib/histogram") as typeof PromClient.Histogram;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;

/** One of prom-client's default metrics: registers its series in `registry`. */
type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client's default metrics (lib/defaultMetrics.js, same order), process CPU from ./process-cpu.js. */
const DEFAULT_METRICS = [
  "processStartTime",
  "osMemoryHeap",
  "processOpenFileDescriptors",
  "processMaxFileDescriptors",
  "eventLoopLag",
  ...(typeof process.getActiveResourcesInfo === "function" ? ["processResources"] : []),
  "processHandles",
  "processRequests",
  "heapSizeAndUsed",
  "heapSpacesSizeAndUsed",
  "version",
  "gc",
];

/** The series of prom-client's collectDefaultMetrics({ register }), without loading @opentelemetry/api. */
export function collectDefaultMetrics(registry: Registry): void {
  registerProcessCpu(registry);
  // nodejs_eventloop_lag_*'s histogram samples every 20 ms, as the admin event-loop window does (prom-client's default
  // is 10): its timer woke an idle gateway 100 times a second; at 20 an idle gateway's CPU went from ~15 to ~8.5 ms per
  // second. A task that holds the loop longer than that still shows in full in the max and the percentiles.
  const config = { eventLoopMonitoringPrecision: 20 };
  for (const name of DEFAULT_METRICS) (requirePart(`prom-client/lib/metrics/${name}`) as DefaultMetric)(registry, config);
}

/** process_cpu_user_seconds_total, process_cpu_system_seconds_total, process_cpu_seconds_total, as prom-client's. */
function registerProcessCpu(registry: Registry): void {
  let last = process.cpuUsage();
  const registers = [registry];
  const user = new Counter({
    name: "process_cpu_user_seconds_total",
    help: "Total user CPU time spent in seconds.",
    registers,
    // One metric's collect sets all three (prom-client does the same).
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({ name: "process_cpu_system_seconds_total", help: "Total system CPU time spent in seconds.", registers });
  const total = new Counter({ name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", registers });
}
