/**
 * OpenTelemetry and the resilience layer: a safe call that fails on one
 * replica and is retried on the other yields two CLIENT spans under one
 * SERVER span, the second marked as retry and failover (mcp_gateway.*).
 * The failure is real: an HTTP proxy in front of each replica answers 503
 * to the first prompts/get it sees (whichever replica the ring picks).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { attrs, SPAN_KIND, STATUS, startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.js";
import { traceEchoServer } from "../fixtures/trace-echo-server.js";
import type { Gateway } from "../../src/gateway.js";

let receiver: OtlpReceiver;
let upstream: SdkHttpUpstream;
let gateway: Gateway;
let url: string;
const proxies: http.Server[] = [];
/** Armed: the next prompts/get through any proxy gets a 503. */
let failNextPrompt = false;

/** Forwards to the SDK upstream, except for the one prompts/get it is told to fail. */
async function startProxy(target: URL): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (failNextPrompt && body.length > 0 && (JSON.parse(body.toString()) as { method?: string }).method === "prompts/get") {
        failNextPrompt = false;
        res.writeHead(503, { "content-type": "text/plain" }).end("replica overloaded");
        return;
      }
      const out = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on("error", () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxies.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

before(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startSdkHttpUpstream(traceEchoServer);
  const target = new URL(upstream.url);
  const urls = [await startProxy(target), await startProxy(target)];
  ({ gateway, url } = await startTestGateway({
    upstreams: [{ name: "echo", transport: "streamable_http", urls }],
    telemetry: { otlp: { endpoint: receiver.url, traces_delay: 60_000, metrics_interval: 600_000 } },
  }));
});

after(async () => {
  await gateway?.close();
  for (const p of proxies) {
    p.closeAllConnections();
    await new Promise<void>((resolve) => p.close(() => resolve()));
  }
  await upstream?.close();
  await receiver?.close();
});

test("a retried call: one SERVER span, two CLIENT spans, the second on the other replica with retry and failover set", async () => {
  const client = new Client({ name: "otel-retry", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=otel-retry`)));
  try {
    const traceId = randomBytes(16).toString("hex");
    const parentId = randomBytes(8).toString("hex");
    failNextPrompt = true;
    const result = await client.getPrompt({ name: "ok_prompt", _meta: { traceparent: `00-${traceId}-${parentId}-01` } });
    assert.equal(failNextPrompt, false, "the first attempt did meet the failing proxy");
    assert.equal(result.messages.length, 1);
    await gateway.otel!.flush();
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER);
    assert.ok(server);
    assert.equal(server.parentSpanId, parentId);
    assert.equal(server.status?.code ?? STATUS.UNSET, STATUS.UNSET, "the client got an answer");
    const attempts = spans.filter((s) => s.kind === SPAN_KIND.CLIENT).sort((a, b) => Number(attrs(a.attributes)["mcp_gateway.attempt"]) - Number(attrs(b.attributes)["mcp_gateway.attempt"]));
    assert.equal(attempts.length, 2, "one CLIENT span per attempt");
    const [first, second] = attempts.map((s) => ({ s, a: attrs(s.attributes) }));
    for (const { s } of [first!, second!]) assert.equal(s.parentSpanId, server.spanId);
    assert.equal(first!.a["mcp_gateway.attempt"], 1);
    assert.equal(first!.a["mcp_gateway.retry"], false);
    assert.ok(first!.a["error.type"], "the failed attempt has an error.type");
    assert.equal(first!.s.status?.code, STATUS.ERROR);
    assert.equal(second!.a["mcp_gateway.attempt"], 2);
    assert.equal(second!.a["mcp_gateway.retry"], true);
    assert.equal(second!.a["mcp_gateway.failover"], true);
    assert.notEqual(second!.a["mcp_gateway.replica"], first!.a["mcp_gateway.replica"]);
    assert.notEqual(second!.a["server.port"], first!.a["server.port"]);
    assert.equal(second!.a["error.type"], undefined);
  } finally {
    await client.close();
  }
});
