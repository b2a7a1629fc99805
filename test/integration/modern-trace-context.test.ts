/**
 * The 2026-07-28 wire passes W3C trace context on with OpenTelemetry off:
 * `traceparent`, `tracestate` and `baggage` in a modern request's `_meta` reach
 * the upstream's `_meta` unchanged, on a legacy stdio upstream (the bridge) and
 * on a Streamable HTTP upstream. The gateway's own envelope keys do not leak
 * upstream as trace context, and a request without trace context gets none.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { traceEchoServer } from "../fixtures/trace-echo-server.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;
let upstream: SdkHttpUpstream;

before(async () => {
  upstream = await startSdkHttpUpstream(() => traceEchoServer("_http"));
  ({ gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [
      { name: "stdio", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/trace-echo-server.ts", "--stdio", "--suffix", "_stdio"] },
      { name: "http", transport: "streamable_http", url: upstream.url },
    ],
  }));
});
after(async () => {
  await gateway?.close();
  await upstream?.close();
});

let nextId = 0;
async function modernCall(tool: string, trace: Record<string, string>): Promise<{ meta: Record<string, unknown> | null }> {
  const body = {
    jsonrpc: "2.0",
    id: ++nextId,
    method: "tools/call",
    params: { name: tool, arguments: {}, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, ...trace } },
  };
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const json = text.trimStart().startsWith("{") ? text : text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).pop()!;
  const msg = JSON.parse(json) as { result?: { content: Array<{ text: string }> }; error?: unknown };
  assert.ok(msg.result, JSON.stringify(msg.error));
  return JSON.parse(msg.result.content[0]!.text);
}

const TRACE = {
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  tracestate: "vendor=opaque-value",
  baggage: "tenant=acme,region=eu",
};

for (const tool of ["echo_meta_stdio", "echo_meta_http"]) {
  test(`${tool}: traceparent, tracestate and baggage from a modern request's _meta reach the upstream unchanged`, async () => {
    const seen = await modernCall(tool, TRACE);
    assert.ok(seen.meta, "the upstream received a _meta");
    for (const [k, v] of Object.entries(TRACE)) assert.equal(seen.meta![k], v, `${k} passed on`);
    assert.ok(!Object.keys(seen.meta!).some((k) => k.startsWith("io.modelcontextprotocol/") && /traceparent|baggage/.test(k)));
    const none = await modernCall(tool, {});
    for (const k of Object.keys(TRACE)) assert.equal(none.meta?.[k], undefined, `no ${k} invented`);
  });
}
