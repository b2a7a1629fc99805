/**
 * OpenTelemetry sampling and the opt-in content attributes: parent-based
 * ratio sampling (ratio 0 here: only a sampled client parent makes a trace),
 * the context still propagated when not sampled, metrics recorded either way,
 * and tool arguments/results recorded only because record_content is on.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { attrs, SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.js";
import { traceEchoServer } from "../fixtures/trace-echo-server.js";
import type { Gateway } from "../../src/gateway.js";

let receiver: OtlpReceiver;
let upstream: SdkHttpUpstream;
let gateway: Gateway;
let client: Client;

before(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startSdkHttpUpstream(traceEchoServer);
  let url: string;
  ({ gateway, url } = await startTestGateway({
    upstreams: [{ name: "echo", transport: "streamable_http", url: upstream.url }],
    telemetry: { otlp: { endpoint: receiver.url, traces_delay: 60_000, metrics_interval: 600_000, sampling_ratio: 0, record_content: true } },
  }));
  client = new Client({ name: "otel-sampling", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=otel-sampling`)));
});

after(async () => {
  await client?.close();
  await gateway?.close();
  await upstream?.close();
  await receiver?.close();
});

const ids = () => ({ traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") });

async function echo(traceparent?: string) {
  const result = await client.callTool({ name: "echo_meta", arguments: { note: "secret-free note" }, ...(traceparent ? { _meta: { traceparent } } : {}) });
  return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { meta: { traceparent?: string } | null };
}

test("ratio 0 without a parent: no spans, but the call is still counted in the histograms", async () => {
  const before = receiver.spans.length;
  await echo();
  await gateway.otel!.flush();
  assert.equal(receiver.spans.length, before, "nothing sampled");
  const points = receiver.metrics.filter((m) => m.name === "mcp.server.operation.duration").flatMap((m) => m.histogram!.dataPoints);
  assert.ok(points.some((p) => attrs(p.attributes)["gen_ai.tool.name"] === "echo_meta" && Number(p.count) >= 1));
});

test("an unsampled client parent: no spans, and the upstream still gets the trace id (not sampled)", async () => {
  const { traceId, spanId } = ids();
  const received = await echo(`00-${traceId}-${spanId}-00`);
  await gateway.otel!.flush();
  assert.equal(receiver.spans.filter((s) => s.traceId === traceId).length, 0);
  assert.match(String(received.meta?.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
});

test("a sampled client parent is followed (parent-based), with the opt-in arguments and result recorded", async () => {
  const { traceId, spanId } = ids();
  await echo(`00-${traceId}-${spanId}-01`);
  await gateway.otel!.flush();
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  const server = spans.find((s) => s.kind === SPAN_KIND.SERVER);
  const clientSpan = spans.find((s) => s.kind === SPAN_KIND.CLIENT);
  assert.ok(server && clientSpan);
  for (const s of [server, clientSpan]) {
    const a = attrs(s.attributes);
    assert.deepEqual(JSON.parse(String(a["gen_ai.tool.call.arguments"])), { note: "secret-free note" }, s.name);
    const result = JSON.parse(String(a["gen_ai.tool.call.result"])) as { content: Array<{ text: string }> };
    assert.ok(result.content[0]!.text.includes(traceId), "the result the upstream gave");
  }
});
