import { monitorEventLoopDelay, performance, type IntervalHistogram, type EventLoopUtilization } from "node:perf_hooks";

/** The guide's "High CPU?" branch as numbers: how long the event loop was held, and how busy it was. */
export interface EventLoopReport {
  /** Longest event-loop delay since the last report (ms): one blocking task shows up here. */
  delay_max_ms: number;
  /** 99th percentile of the delay since the last report (ms). */
  delay_p99_ms: number;
  /** Share of time the loop was busy since the last report (0..1). */
  utilization: number;
  /** Length of that window (ms). */
  window_ms: number;
}

let histogram: IntervalHistogram | undefined;
let lastElu: EventLoopUtilization | undefined;
let lastAt = 0;

/**
 * Event-loop delay and utilisation of this process since the previous call
 * (one histogram per process, started on first use, sampling every 20 ms;
 * its timer is unref'd by Node and costs next to nothing).
 */
export function eventLoopReport(now = performance.now()): EventLoopReport {
  if (!histogram) {
    histogram = monitorEventLoopDelay({ resolution: 20 });
    histogram.enable();
    lastElu = performance.eventLoopUtilization();
    lastAt = now;
  }
  const elu = performance.eventLoopUtilization(lastElu);
  const report: EventLoopReport = {
    delay_max_ms: Math.round(histogram.max / 1e6),
    delay_p99_ms: Math.round(histogram.percentile(99) / 1e6),
    utilization: Math.round(elu.utilization * 1000) / 1000,
    window_ms: Math.round(now - lastAt),
  };
  histogram.reset();
  lastElu = performance.eventLoopUtilization();
  lastAt = now;
  return report;
}

/** Starts the histogram early (at gateway start), so the first report covers the time since then. */
export function startEventLoopMonitor(): void {
  if (!histogram) eventLoopReport();
}
