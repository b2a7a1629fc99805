/** When the OpenTelemetry layer turns on, from telemetry.* and the standard OTEL_* variables. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig, type GatewayConfigInput } from "../../src/config/index.js";
import { otelSettings } from "../../src/telemetry/otel/settings.js";
import { startTestGateway } from "../helpers/gateway.js";

const cfg = (telemetry: GatewayConfigInput["telemetry"] = {}) => validateConfig({ telemetry });

test("off by default: no config, no OTEL_* variables", () => {
  assert.equal(otelSettings(cfg(), {}), undefined);
});

test("telemetry.otlp.endpoint turns traces and OTLP metrics on (and /metrics gets the histograms)", () => {
  const s = otelSettings(cfg({ otlp: { endpoint: "http://collector:4318/" } }), {})!;
  assert.equal(s.traces, true);
  assert.equal(s.otlpMetrics, true);
  assert.equal(s.prometheus, true);
  assert.equal(s.endpoint, "http://collector:4318", "trailing slash dropped before /v1/<signal> is appended");
  assert.equal(s.samplingRatio, 1);
  assert.equal(s.recordContent, false, "content is opt-in");
  assert.equal(s.serviceName, "mcp-gateway");
});

test("OTEL_EXPORTER_OTLP_ENDPOINT alone turns it on; the exporters read the variables themselves", () => {
  const s = otelSettings(cfg(), { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SERVICE_NAME: "edge-gw" })!;
  assert.equal(s.traces, true);
  assert.equal(s.endpoint, undefined);
  assert.equal(s.serviceName, "edge-gw");
  const tracesOnly = otelSettings(cfg(), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })!;
  assert.deepEqual([tracesOnly.traces, tracesOnly.otlpMetrics], [true, false]);
});

test("OTEL_SDK_DISABLED and OTEL_*_EXPORTER=none are honoured", () => {
  const on = cfg({ otlp: { endpoint: "http://c:4318" } });
  assert.equal(otelSettings(on, { OTEL_SDK_DISABLED: "true" }), undefined);
  const s = otelSettings(on, { OTEL_TRACES_EXPORTER: "none" })!;
  assert.deepEqual([s.traces, s.otlpMetrics], [false, true]);
  assert.equal(otelSettings(on, { OTEL_TRACES_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" }), undefined);
});

test("sampling: config ratio, else OTEL_TRACES_SAMPLER_ARG, else 1", () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER_ARG: "0.25" };
  assert.equal(otelSettings(cfg({ otlp: { sampling_ratio: 0.5 } }), env)!.samplingRatio, 0.5);
  assert.equal(otelSettings(cfg(), env)!.samplingRatio, 0.25);
  assert.equal(otelSettings(cfg(), { ...env, OTEL_TRACES_SAMPLER_ARG: "lots" })!.samplingRatio, 1);
  assert.throws(() => cfg({ otlp: { sampling_ratio: 2 } }), /sampling_ratio/);
});

test("telemetry.mcp_metrics: the histograms on /metrics without any collector", () => {
  const s = otelSettings(cfg({ mcp_metrics: true }), {})!;
  assert.deepEqual([s.traces, s.otlpMetrics, s.prometheus], [false, false, true]);
});

test("a gateway with telemetry off has no tracer on its relay and no OTel handle", async () => {
  const saved = Object.keys(process.env).filter((k) => k.startsWith("OTEL_"));
  if (saved.length > 0) {
    console.log(`# skipped: OTEL_* variables set in this environment (${saved.join(", ")})`);
    return;
  }
  const { gateway } = await startTestGateway({});
  try {
    assert.equal(gateway.otel, undefined);
    assert.equal(gateway.relay.tracer, undefined);
    const text = await (await fetch(`http://127.0.0.1:${gateway.port}/metrics`)).text();
    assert.doesNotMatch(text, /mcp_server_operation_duration_seconds/);
  } finally {
    await gateway.close();
  }
});

test("telemetry.mcp_metrics alone: calls land in the /metrics histograms, no spans exported anywhere", async () => {
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
  const { gateway, url } = await startTestGateway({ telemetry: { mcp_metrics: true } });
  const client = new Client({ name: "mcp-metrics-only", version: "1.0.0" });
  try {
    assert.equal(gateway.otel?.settings.traces, false);
    assert.ok(gateway.relay.tracer);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=mcp-metrics-only`)));
    await client.listTools();
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /^mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="tools\/list"[^}]*\} 1$/m);
    assert.match(text, /^mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="initialize"[^}]*\} 1$/m);
  } finally {
    await client.close();
    await gateway.close();
  }
});
