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

/**
 * One window of event-loop figures: a delay histogram (sampling every 20 ms)
 * and the utilisation, both since the previous report. Each reader that
 * wants its own window (the status endpoint, the live console's sampler)
 * holds its own, so one reader never shortens another's window.
 *
 * Resetting the histogram also forgets its last tick, so the first tick after a report only restarts its clock: a
 * block that begins less than one tick (20 ms) after a report is missing from the next one. A JavaScript timer with
 * its own clock would not forget, but costs an idle gateway ~7 ms of CPU per second against ~0 for this native one
 * (measured), so the 20 ms blind spot stays.
 */
export class EventLoopWindow {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  #lastElu: EventLoopUtilization;
  #lastAt: number;

  constructor(now = performance.now()) {
    this.#histogram.enable();
    this.#lastElu = performance.eventLoopUtilization();
    this.#lastAt = now;
  }

  /** The figures since the previous report (or since construction), then a fresh window. */
  report(now = performance.now()): EventLoopReport {
    const elu = performance.eventLoopUtilization(this.#lastElu);
    const h = this.#histogram;
    const report: EventLoopReport = {
      delay_max_ms: Math.round(h.max / 1e6),
      delay_p99_ms: Math.round(h.percentile(99) / 1e6),
      utilization: Math.round(elu.utilization * 1000) / 1000,
      window_ms: Math.round(now - this.#lastAt),
    };
    h.reset();
    this.#lastElu = performance.eventLoopUtilization();
    this.#lastAt = now;
    return report;
  }

  /** Stops sampling (the histogram's timer). */
  stop(): void {
    this.#histogram.disable();
  }
}

let shared: EventLoopWindow | undefined;

/**
 * Event-loop delay and utilisation of this process since the previous call
 * (one window per process, started on first use; its timer is unref'd by
 * Node and costs next to nothing).
 */
export function eventLoopReport(now = performance.now()): EventLoopReport {
  if (!shared) shared = new EventLoopWindow(now);
  return shared.report(now);
}

/** Starts the histogram early (at gateway start), so the first report covers the time since then. */
export function startEventLoopMonitor(): void {
  if (!shared) shared = new EventLoopWindow();
}
