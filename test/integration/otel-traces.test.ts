/**
 * OpenTelemetry end to end: a real OTLP/HTTP receiver, the gateway exporting
 * to it, an SDK client over each client transport sending its own
 * traceparent, and an SDK upstream that reports the context it received.
 * The span tree must read client -> SERVER (gateway) -> CLIENT (gateway) ->
 * upstream, with the MCP semantic conventions' names and attributes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import WebSocket from "ws";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { attrs, SPAN_KIND, STATUS, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from "../helpers/otlp-receiver.js";
import { once } from "node:events";
import { traceEchoEvents, traceEchoServer } from "../fixtures/trace-echo-server.js";
import { WsClient } from "../helpers/ws-client.js";
import { startSdkSseUpstream, type SdkSseUpstream } from "../helpers/sdk-sse-upstream.js";
import type { Gateway } from "../../src/gateway.js";

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

type Kind = "streamable_http" | "http_sse" | "websocket";

let receiver: OtlpReceiver;
let upstream: SdkHttpUpstream;
let sseUpstream: SdkSseUpstream;
let gateway: Gateway;
let url: string;

before(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startSdkHttpUpstream(() => traceEchoServer());
  sseUpstream = await startSdkSseUpstream(() => traceEchoServer("_sse"));
  ({ gateway, url } = await startTestGateway({
    upstreams: [
      { name: "echo", transport: "streamable_http", url: upstream.url },
      { name: "echo_sse", transport: "sse", url: sseUpstream.url },
      { name: "echo_stdio", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/trace-echo-server.ts", "--stdio", "--suffix", "_stdio"] },
    ],
    // Long export intervals: the test flushes when it wants the data, so nothing depends on timing.
    telemetry: { otlp: { endpoint: receiver.url, traces_delay: 60_000, metrics_interval: 600_000 } },
  }));
});

after(async () => {
  await gateway?.close();
  await upstream?.close();
  await sseUpstream?.close();
  await receiver?.close();
});

function transportFor(kind: Kind, clientId: string) {
  if (kind === "streamable_http") return new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${clientId}`));
  if (kind === "http_sse") return new SSEClientTransport(new URL(`${url}/mcp/sse?client_id=${clientId}`));
  return new WebSocketClientTransport(new URL(`${url.replace("http", "ws")}/mcp/ws?client_id=${clientId}`));
}

/** A client-side parent span context, as an instrumented MCP client would send it. */
function clientParent() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01`, tracestate: "client=abc" };
}

/** Everything exported so far (the gateway flushes its batch processor; the export lands before flush resolves). */
async function exported(): Promise<OtlpSpan[]> {
  await gateway.otel!.flush();
  return receiver.spans;
}

function only(spans: OtlpSpan[], where: (s: OtlpSpan) => boolean, what: string): OtlpSpan {
  const found = spans.filter(where);
  assert.equal(found.length, 1, `exactly one ${what}, found ${found.length}: ${found.map((s) => s.name).join(", ")}`);
  return found[0]!;
}

test("the SDK is on for this gateway (OTLP endpoint in config) and exports JSON", () => {
  assert.ok(gateway.otel, "otel handle");
  assert.ok(gateway.relay.tracer, "relay tracer installed");
  assert.equal(gateway.otel!.settings.traces, true);
});

for (const kind of ["streamable_http", "http_sse", "websocket"] as const) {
  describe(`traces over ${kind}`, () => {
    let client: Client;
    before(async () => {
      client = new Client({ name: `otel-${kind}`, version: "1.0.0" });
      await client.connect(transportFor(kind, `otel-${kind}`));
    });
    after(async () => {
      await client?.close();
    });

    test("client parent -> SERVER -> CLIENT, and the upstream gets the CLIENT span as its parent", async () => {
      const parent = clientParent();
      const result = await client.callTool({ name: "echo_meta", arguments: { note: "hi" }, _meta: { traceparent: parent.traceparent, tracestate: parent.tracestate } });
      const received = JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { meta: Record<string, unknown>; traceparent: string | null; tracestate: string | null };
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);

      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      assert.equal(server.parentSpanId, parent.spanId, "the client's span is the SERVER span's parent");
      assert.equal(server.name, "tools/call echo_meta");
      const sa = attrs(server.attributes);
      assert.equal(sa["mcp.method.name"], "tools/call");
      assert.equal(sa["gen_ai.tool.name"], "echo_meta");
      assert.equal(sa["gen_ai.operation.name"], "execute_tool");
      assert.equal(sa["network.transport"], "tcp");
      assert.equal(sa["network.protocol.name"], kind === "websocket" ? "websocket" : "http");
      assert.equal(typeof sa["jsonrpc.request.id"], "string");
      assert.equal(typeof sa["mcp.session.id"], "string");
      assert.match(String(sa["mcp.protocol.version"]), /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(sa["mcp_gateway.client.id"], `otel-${kind}`);
      assert.equal(sa["mcp_gateway.client.transport"], kind);
      assert.equal(sa["client.address"], "127.0.0.1", "the client's socket");
      assert.equal(typeof sa["client.port"], "number");
      assert.equal(sa["error.type"], undefined);
      assert.equal(server.status?.code ?? STATUS.UNSET, STATUS.UNSET);
      assert.equal(sa["gen_ai.tool.call.arguments"], undefined, "arguments are opt-in");

      const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, "CLIENT span");
      assert.equal(clientSpan.parentSpanId, server.spanId, "the CLIENT span hangs under the SERVER span");
      assert.equal(clientSpan.name, "tools/call echo_meta");
      const ca = attrs(clientSpan.attributes);
      assert.equal(ca["mcp.method.name"], "tools/call");
      assert.equal(ca["gen_ai.tool.name"], "echo_meta");
      assert.equal(ca["network.transport"], "tcp");
      assert.equal(ca["network.protocol.name"], "http");
      assert.equal(ca["network.protocol.version"], "1.1");
      assert.equal(ca["server.address"], "127.0.0.1");
      assert.equal(ca["server.port"], upstream.port);
      assert.equal(ca["mcp_gateway.upstream"], "echo");
      assert.equal(ca["mcp_gateway.replica"], "echo#0");
      assert.equal(ca["mcp_gateway.attempt"], 1);
      assert.equal(ca["mcp_gateway.retry"], false);
      assert.equal(ca["mcp_gateway.failover"], false);
      assert.equal(typeof ca["mcp.session.id"], "string", "the upstream session");
      assert.ok(BigInt(clientSpan.startTimeUnixNano) >= BigInt(server.startTimeUnixNano));
      assert.ok(BigInt(clientSpan.endTimeUnixNano) <= BigInt(server.endTimeUnixNano));

      // The upstream saw the gateway's CLIENT span as its parent, in _meta and in the HTTP header.
      const expected = `00-${parent.traceId}-${clientSpan.spanId}-01`;
      assert.equal(received.meta.traceparent, expected);
      assert.equal(received.traceparent, expected);
      assert.equal(received.meta.tracestate, parent.tracestate, "tracestate travels with the trace");
      assert.equal(received.tracestate, parent.tracestate);
    });

    test("resources/read: mcp.resource.uri on the SERVER span and the upstream's URI on the CLIENT span", async () => {
      const { resources } = await client.listResources();
      const note = resources.find((r) => r.name === "note" || r.uri.endsWith("trace://note") || r.uri === "trace://note");
      assert.ok(note, `the fixture's resource is listed: ${resources.map((r) => r.uri).join(", ")}`);
      const parent = clientParent();
      await client.readResource({ uri: note.uri, _meta: { traceparent: parent.traceparent } });
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      assert.equal(server.name, "resources/read", "no URI in the name (high cardinality)");
      assert.equal(attrs(server.attributes)["mcp.resource.uri"], note.uri);
      const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, "CLIENT span");
      assert.equal(attrs(clientSpan.attributes)["mcp.resource.uri"], "trace://note");
      assert.equal(attrs(clientSpan.attributes)["mcp.method.name"], "resources/read");
    });

    test("a tool answering isError: error.type tool_error, status ERROR on both spans", async () => {
      const parent = clientParent();
      const result = await client.callTool({ name: "tool_fails", arguments: {}, _meta: { traceparent: parent.traceparent } });
      assert.equal(result.isError, true);
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, "CLIENT span");
      for (const s of [server, clientSpan]) {
        assert.equal(attrs(s.attributes)["error.type"], "tool_error", s.name);
        assert.equal(attrs(s.attributes)["rpc.response.status_code"], undefined, "no JSON-RPC error code");
        assert.equal(s.status?.code, STATUS.ERROR);
      }
    });

    test("a JSON-RPC error from the upstream: rpc.response.status_code is its code; an error on the CLIENT span, a caller fault on the SERVER span", async () => {
      const parent = clientParent();
      await assert.rejects(client.getPrompt({ name: "broken_prompt", _meta: { traceparent: parent.traceparent } }), /broken on purpose/);
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      assert.equal(server.name, "prompts/get broken_prompt");
      assert.equal(attrs(server.attributes)["gen_ai.prompt.name"], "broken_prompt");
      const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, "CLIENT span");
      // The CLIENT span counts every JSON-RPC error code; the SERVER span does not count invalid params
      // (the caller's fault, by the convention's server status rule) as the gateway's error.
      assert.equal(attrs(clientSpan.attributes)["error.type"], "-32602");
      assert.equal(attrs(clientSpan.attributes)["rpc.response.status_code"], "-32602");
      assert.equal(clientSpan.status?.code, STATUS.ERROR);
      assert.match(String(clientSpan.status?.message), /broken on purpose/);
      assert.equal(attrs(server.attributes)["rpc.response.status_code"], "-32602");
      assert.equal(attrs(server.attributes)["error.type"], undefined);
      assert.equal(server.status?.code ?? STATUS.UNSET, STATUS.UNSET);
    });

    test("a gateway-local JSON-RPC error (unknown tool): a SERVER span only, with the catalogue code, no error status", async () => {
      const parent = clientParent();
      const err = await client.callTool({ name: "no_such_tool", arguments: {}, _meta: { traceparent: parent.traceparent } }).then(
        () => assert.fail("should fail"),
        (e: { code: number }) => e,
      );
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);
      assert.equal(spans.filter((s) => s.kind === SPAN_KIND.CLIENT).length, 0, "nothing went upstream");
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      const a = attrs(server.attributes);
      assert.equal(a["rpc.response.status_code"], String(err.code));
      assert.equal(a["mcp_gateway.error.code"], "tool_not_found");
      // -32602 (an unknown tool is invalid params): the caller's fault, not the gateway's error.
      assert.equal(a["error.type"], undefined);
      assert.equal(server.status?.code ?? STATUS.UNSET, STATUS.UNSET);
    });

    test("tools/list without a client parent starts a new trace (root SERVER span)", async () => {
      const before = new Set(receiver.spans.map((s) => s.spanId));
      await client.listTools();
      const fresh = (await exported()).filter((s) => !before.has(s.spanId) && s.name === "tools/list" && attrs(s.attributes)["mcp_gateway.client.id"] === `otel-${kind}`);
      const server = only(fresh, (s) => s.kind === SPAN_KIND.SERVER, "tools/list SERVER span");
      assert.ok(!server.parentSpanId, "no parent");
    });
  });
}

for (const kind of ["streamable_http", "http_sse"] as const) {
  test(`over ${kind}, the POST's traceparent header is the parent when _meta has none`, async () => {
    const parent = clientParent();
    const requestInit = { headers: { traceparent: parent.traceparent } };
    const target = kind === "streamable_http" ? `${url}/mcp?client_id=otel-hdr-${kind}` : `${url}/mcp/sse?client_id=otel-hdr-${kind}`;
    const transport = kind === "streamable_http" ? new StreamableHTTPClientTransport(new URL(target), { requestInit }) : new SSEClientTransport(new URL(target), { requestInit });
    const client = new Client({ name: `otel-hdr-${kind}`, version: "1.0.0" });
    await client.connect(transport);
    try {
      await client.callTool({ name: "echo_meta", arguments: {} });
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId && s.name === "tools/call echo_meta");
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span");
      assert.equal(server.parentSpanId, parent.spanId);
    } finally {
      await client.close();
    }
  });
}

test("HTTP+SSE and stdio upstreams: CLIENT span network attributes, context in _meta (and the SSE POST's header)", async () => {
  const client = new Client({ name: "otel-upstreams", version: "1.0.0" });
  await client.connect(transportFor("streamable_http", "otel-upstreams"));
  try {
    for (const [tool, upstreamName] of [["echo_meta_sse", "echo_sse"], ["echo_meta_stdio", "echo_stdio"]] as const) {
      const parent = clientParent();
      const result = await client.callTool({ name: tool, arguments: {}, _meta: { traceparent: parent.traceparent } });
      const received = JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { meta: Record<string, unknown>; traceparent: string | null };
      const spans = (await exported()).filter((s) => s.traceId === parent.traceId);
      const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, `${tool} SERVER span`);
      const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, `${tool} CLIENT span`);
      assert.equal(clientSpan.parentSpanId, server.spanId);
      const a = attrs(clientSpan.attributes);
      assert.equal(a["mcp_gateway.upstream"], upstreamName);
      assert.equal(received.meta.traceparent, `00-${parent.traceId}-${clientSpan.spanId}-01`, `${tool}: _meta`);
      if (upstreamName === "echo_stdio") {
        assert.equal(a["network.transport"], "pipe");
        assert.equal(a["server.address"], undefined);
        assert.equal(a["network.protocol.name"], undefined);
      } else {
        assert.equal(a["network.transport"], "tcp");
        assert.equal(a["network.protocol.name"], "http");
        assert.equal(a["server.port"], sseUpstream.port);
        assert.equal(received.traceparent, received.meta.traceparent, "the SSE POST carries the header too");
      }
    }
  } finally {
    await client.close();
  }
});

test("a duplicate request id (refused) does not end the open request's SERVER span; cancelling it does", async () => {
  const ws = await WsClient.open(url, "otel-dup");
  try {
    await ws.initialize();
    const first = clientParent();
    const second = clientParent();
    const refusal = new Promise<{ error?: { data?: { error?: string } } }>((resolve) => {
      ws.ws.on("message", (data) => {
        const m = JSON.parse(data.toString());
        if (m.id === "dup-1" && m.error) resolve(m);
      });
    });
    const waiting = once(traceEchoEvents, "waiting");
    ws.ws.send(JSON.stringify({ jsonrpc: "2.0", id: "dup-1", method: "tools/call", params: { name: "wait", arguments: {}, _meta: { traceparent: first.traceparent } } }));
    await waiting;
    ws.ws.send(JSON.stringify({ jsonrpc: "2.0", id: "dup-1", method: "tools/call", params: { name: "echo_meta", arguments: {}, _meta: { traceparent: second.traceparent } } }));
    assert.equal((await refusal).error?.data?.error, "duplicate_request_id");
    let spans = (await exported()).filter((s) => s.traceId === first.traceId || s.traceId === second.traceId);
    assert.equal(spans.filter((s) => s.kind === SPAN_KIND.SERVER).length, 0, "the first call's SERVER span is still open; the duplicate has none");
    // The gateway ends the spans when the cancellation arrives, then passes it on: the upstream's abort follows.
    const cancelled = once(traceEchoEvents, "cancelled");
    ws.notify("notifications/cancelled", { requestId: "dup-1", reason: "test" });
    await cancelled;
    spans = (await exported()).filter((s) => s.traceId === first.traceId);
    const server = only(spans, (s) => s.kind === SPAN_KIND.SERVER, "SERVER span of the first call");
    assert.equal(attrs(server.attributes)["error.type"], "cancelled");
    const clientSpan = only(spans, (s) => s.kind === SPAN_KIND.CLIENT, "CLIENT span of the first call");
    assert.equal(attrs(clientSpan.attributes)["error.type"], "cancelled");
    assert.equal(clientSpan.parentSpanId, server.spanId);
  } finally {
    await ws.close();
  }
});

test("metrics: the three mcp.* histograms over OTLP with the convention's buckets, and on /metrics", async () => {
  // A session that ends now, so mcp.server.session.duration has a point.
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=otel-session`));
  const client = new Client({ name: "otel-session", version: "1.0.0" });
  await client.connect(transport);
  await client.callTool({ name: "echo_meta", arguments: {} });
  await transport.terminateSession();
  await client.close();
  await gateway.otel!.flush();
  const byName = new Map(receiver.metrics.map((m) => [m.name, m]));
  const bounds = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
  for (const name of ["mcp.server.operation.duration", "mcp.client.operation.duration", "mcp.server.session.duration"]) {
    const m = byName.get(name);
    assert.ok(m?.histogram, `${name} exported as a histogram`);
    assert.equal(m!.unit, "s");
    for (const p of m!.histogram!.dataPoints) assert.deepEqual(p.explicitBounds, bounds, name);
  }
  const serverPoints = byName.get("mcp.server.operation.duration")!.histogram!.dataPoints;
  const calls = serverPoints.find((p) => {
    const a = attrs(p.attributes);
    return a["mcp.method.name"] === "tools/call" && a["gen_ai.tool.name"] === "echo_meta" && a["error.type"] === undefined;
  });
  assert.ok(calls && Number(calls.count) >= 3, "successful echo_meta calls counted");
  assert.ok(serverPoints.some((p) => attrs(p.attributes)["error.type"] === "tool_error"), "tool_error recorded");
  const clientPoints = byName.get("mcp.client.operation.duration")!.histogram!.dataPoints;
  assert.ok(clientPoints.some((p) => attrs(p.attributes)["mcp_gateway.upstream"] === "echo" && attrs(p.attributes)["server.port"] === upstream.port));
  const resource = receiver.resources.find((r) => r["service.name"] !== undefined);
  assert.equal(resource?.["service.name"], "mcp-gateway");

  const text = await (await fetch(`${url}/metrics`)).text();
  assert.match(text, /^mcp_server_operation_duration_seconds_bucket\{.*le="0\.01".*\} \d+/m);
  assert.match(text, /^mcp_server_operation_duration_seconds_count\{[^}]*mcp_method_name="tools\/call"[^}]*\} \d+/m);
  assert.match(text, /^mcp_client_operation_duration_seconds_count\{[^}]*mcp_gateway_upstream="echo"[^}]*\} \d+/m);
  assert.match(text, /^mcp_server_session_duration_seconds_count\{[^}]*\} [1-9]/m);
  assert.match(text, /^gateway_request_duration_seconds_count/m, "the guide's metrics are still there");
});
