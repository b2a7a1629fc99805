// call-series.ts keeps the per-call request metrics as plain numbers: its exposition must be what prom-client's
// own Histogram and Counter print for the same observations, byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { CallSeries } from "../../src/telemetry/call-series.js";

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CALLS: Array<[string, string, number, boolean]> = [
  ["tools/call", "a", 0.003, true],
  ["tools/call", "a", 0.005, true], // on a bound: counted in that bucket
  ["tools/call", "a", 0.2, false],
  ["tools/call", "b", 40, true], // above every bound: only +Inf
  ["tools/list", "a", 0.07, false],
];

test("the exposition is prom-client's for the same calls (buckets, +Inf, sum, count, outcomes)", async () => {
  const ours = new Registry();
  const series = new CallSeries(ours, BOUNDS);
  const theirs = new Registry();
  const histogram = new Histogram({ name: "gateway_request_duration_seconds", help: "Upstream request latency by method and upstream", labelNames: ["method", "upstream"], buckets: BOUNDS, registers: [theirs] });
  const counter = new Counter({ name: "gateway_requests_total", help: "Upstream requests by method, upstream and outcome", labelNames: ["method", "upstream", "outcome"], registers: [theirs] });
  for (const [method, upstream, seconds, ok] of CALLS) {
    series.observe(method, upstream, seconds, ok);
    histogram.observe({ method, upstream }, seconds);
    counter.inc({ method, upstream, outcome: ok ? "ok" : "error" });
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  const json = await ours.getMetricsAsJSON();
  const count = json.find((m) => m.name === "gateway_request_duration_seconds")!.values.find((v) => v.metricName === "gateway_request_duration_seconds_count" && v.labels.upstream === "a" && v.labels.method === "tools/call");
  assert.equal(count?.value, 3);
  ours.resetMetrics();
  assert.doesNotMatch(await ours.metrics(), /tools\/call/);
});
