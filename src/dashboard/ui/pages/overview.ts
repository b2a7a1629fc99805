import { THRESHOLDS } from "../../../cli/doctor-tree.js";
import { Chart, type ChartSpec } from "../charts.js";
import { age, fill, h, pct } from "../dom.js";
import type { Live, LiveData } from "../live.js";
import type { Page } from "./page.js";

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const perSec = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
/** 11628 -> "11.6k": a card's figure stays on one line. */
const compact = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n));
const ratio = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;

/** The overview's charts; thresholds are the guide's (the doctor's THRESHOLDS, backpressure.lag_threshold). */
export const CHARTS: ChartSpec[] = [
  { id: "calls-upstream", title: "Calls/s by upstream", prefixes: ["calls_upstream"], fmt: perSec, minTop: 1 },
  { id: "calls-transport", title: "Calls/s by client transport", prefixes: ["calls_transport"], fmt: perSec, minTop: 1 },
  { id: "errors", title: "Error rate", prefixes: ["error_rate", "failed_upstream"], fmt: ratio, minTop: 0.01, thresholds: () => [{ value: THRESHOLDS.error_rate, label: `alert: error rate > ${THRESHOLDS.error_rate * 100}% (with ≥ ${THRESHOLDS.min_errors} errors)` }], note: "all: errors / inbound messages over 5 min (the guide's GatewayHighErrorRate); per upstream: failed share of the second's calls" },
  { id: "latency-upstream", title: "Latency p50 / p99 by upstream", prefixes: ["p50_upstream", "p99_upstream"], fmt: ms, minTop: 5 },
  { id: "latency-transport", title: "Latency p50 / p99 by client transport", prefixes: ["p50_transport", "p99_transport"], fmt: ms, minTop: 5 },
  { id: "connections", title: "Connections by transport", prefixes: ["connections"], fmt: (v) => v.toFixed(0), minTop: 2 },
  { id: "pool", title: "Pool usage", prefixes: ["pool"], fmt: ratio, minTop: 0.2, thresholds: () => [{ value: THRESHOLDS.pool_exhaustion, label: `alert: pool exhaustion > ${THRESHOLDS.pool_exhaustion * 100}%` }] },
  { id: "loop", title: "Event-loop delay", prefixes: ["loop"], fmt: ms, minTop: 50, thresholds: () => [{ value: THRESHOLDS.event_loop_delay_ms, label: `hot CPU: p99 > ${THRESHOLDS.event_loop_delay_ms} ms` }, { value: THRESHOLDS.event_loop_block_ms, label: `one block > ${THRESHOLDS.event_loop_block_ms} ms` }] },
  { id: "heap", title: "Heap used (of its limit)", prefixes: ["heap"], fmt: ratio, minTop: 0.1, thresholds: () => [{ value: THRESHOLDS.heap_used_ratio, label: `alert: heap > ${THRESHOLDS.heap_used_ratio * 100}%` }] },
  { id: "memory", title: "Memory (MB)", prefixes: ["memory"], fmt: (v) => v.toFixed(0), minTop: 50 },
  { id: "breakers", title: "Circuit breakers not closed", prefixes: ["breakers"], fmt: (v) => v.toFixed(0), minTop: 2, thresholds: () => [{ value: 0.5, label: "alert: any breaker open (GatewayCircuitOpen)" }] },
  { id: "age", title: "Average connection age", prefixes: ["age"], fmt: (v) => age(v), minTop: 60, thresholds: () => [{ value: THRESHOLDS.connection_age_s, label: "alert: average age > 24 h" }], note: "scaled to the 24 h threshold: a flat line at the bottom is headroom" },
  { id: "lag", title: "Largest message lag", prefixes: ["lag"], fmt: ms, minTop: 100, thresholds: (d: LiveData) => [{ value: d.hello?.lag_threshold_ms ?? THRESHOLDS.message_lag_ms, label: `alert: lag > ${ms(d.hello?.lag_threshold_ms ?? THRESHOLDS.message_lag_ms)} (backpressure.lag_threshold)` }] },
];

function last(d: LiveData, key: string): number | null {
  const arr = d.series.get(key);
  return arr && arr.length ? (arr[arr.length - 1] ?? null) : null;
}

function sumLast(d: LiveData, prefix: string): number {
  let n = 0;
  for (const k of d.series.keys()) if (k.startsWith(prefix + ":")) n += last(d, k) ?? 0;
  return n;
}

function maxLast(d: LiveData, prefix: string): number | null {
  let m: number | null = null;
  for (const k of d.series.keys()) if (k.startsWith(prefix + ":")) {
    const v = last(d, k);
    if (v != null) m = Math.max(m ?? 0, v);
  }
  return m;
}

/** KPI card: a value, coloured when past its threshold. */
function card(label: string, value: string, bad = false, sub = ""): HTMLElement {
  return h(`div.card${bad ? ".bad" : ""}`, h("span.label", label), h("b", value), sub ? h("span.sub", sub) : null);
}

export class OverviewPage implements Page {
  #cards = h("div.cards#kpis");
  #charts = CHARTS.map((s) => new Chart(s));

  mount(root: HTMLElement): void {
    fill(root, h("h2", "Overview"), this.#cards, h("div.charts", ...this.#charts.map((c) => c.el)), h("p.note", "The last 15 minutes are kept in the gateway (sampled once a second while a console is open). Dashed red lines are the troubleshooting guide's alert thresholds."));
  }

  update(live: Live): void {
    const d = live.data;
    const s = d.stats?.stats;
    const st = d.state;
    if (s) {
      const open = (d.stats.breakers ?? []).filter((b: any) => b.state === "open").length;
      const down = (st?.upstreams ?? []).filter((u: any) => u.status !== "ok").length;
      const lagLimit = d.hello?.lag_threshold_ms ?? THRESHOLDS.message_lag_ms;
      const heap = last(d, "heap:used");
      const loop = last(d, "loop:p99");
      fill(this.#cards,
        card("Connections", String(s.total), false, `${s.by_transport.websocket} ws · ${s.by_transport.http_sse} sse · ${s.by_transport.streamable_http} http`),
        card("Calls/s", perSec(sumLast(d, "calls_upstream"))),
        card("Error rate (5 min)", pct(s.error_rate, 1), s.error_rate > THRESHOLDS.error_rate && s.errors_5m >= THRESHOLDS.min_errors, `${s.errors_5m} errors`),
        card("p99 latency", maxLast(d, "p99_upstream") == null ? "-" : ms(maxLast(d, "p99_upstream")!)),
        card("Pool usage", pct(s.pool_usage), (s.pool_usage ?? 0) > THRESHOLDS.pool_exhaustion, s.pool_available == null ? "" : `${s.pool_available} available`),
        card("Heap", pct(heap), (heap ?? 0) > THRESHOLDS.heap_used_ratio, `${d.stats.heap_mb} MB`),
        card("Event loop p99", loop == null ? "-" : ms(loop), (loop ?? 0) > THRESHOLDS.event_loop_delay_ms),
        card("Max lag", ms(s.max_message_lag_ms), s.max_message_lag_ms > lagLimit),
        card("Avg connection age", age(s.avg_connection_age), s.avg_connection_age > THRESHOLDS.connection_age_s),
        card("Breakers open", String(open), open > 0),
        card("Upstreams not ok", String(down), down > 0, `${(st?.upstreams ?? []).length} configured`),
        card("Messages in", compact(s.messages_in), false, `${compact(s.messages_out)} out`),
      );
    }
    for (const c of this.#charts) c.update(d);
  }
}
