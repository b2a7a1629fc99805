/**
 * A collector that refuses every export (HTTP 400, which the OTLP exporter
 * does not retry) is visible: each failed batch counts in
 * gateway_otel_export_failures_total{signal} on /metrics, and a warning is
 * logged, throttled to one line per signal (a second failure within the
 * interval is counted, not logged). The gateway keeps serving the calls.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { traceEchoServer } from "../fixtures/trace-echo-server.js";
import type { Gateway } from "../../src/gateway.js";
import type { LogEvent } from "../../src/telemetry/channels.js";

let collector: http.Server;
const refusedPaths: string[] = [];
let upstream: SdkHttpUpstream;
let gateway: Gateway;
let url: string;
const lines: LogEvent[] = [];
const onLog = (e: unknown) => lines.push(e as LogEvent);

before(async () => {
  subscribe("mcp-gateway:log", onLog);
  // A collector that reads each export and refuses it.
  collector = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      refusedPaths.push(req.url ?? "");
      res.writeHead(400, { "content-type": "text/plain" }).end("refused by the test collector");
    });
  });
  collector.listen(0, "127.0.0.1");
  await once(collector, "listening");
  upstream = await startSdkHttpUpstream(() => traceEchoServer());
  ({ gateway, url } = await startTestGateway({
    upstreams: [{ name: "echo", transport: "streamable_http", url: upstream.url }],
    telemetry: { otlp: { endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, traces_delay: 60_000, metrics_interval: 600_000 } },
  }));
});

after(async () => {
  unsubscribe("mcp-gateway:log", onLog);
  await gateway?.close();
  await upstream?.close();
  collector?.close();
});

async function failures(): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^gateway_otel_export_failures_total\{signal="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function callAndFlush(client: Client): Promise<void> {
  const result = await client.callTool({ name: "echo_meta", arguments: {} });
  assert.ok(!result.isError, "the gateway keeps serving while its collector refuses");
  // The metric reader's flush rejects on a failed export; the span processor's resolves. Either way the export was tried.
  await gateway.otel!.flush().catch(() => {});
}

test("failed exports are counted per signal and logged once per interval", async () => {
  assert.deepEqual(await failures(), { traces: 0, metrics: 0 }, "both series exist before any failure");
  const client = new Client({ name: "otel-export-failures", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=otel-export-failures`)));
  try {
    await callAndFlush(client);
    const first = await failures();
    assert.ok(first.traces! >= 1 && first.metrics! >= 1, `both signals counted: ${JSON.stringify(first)}`);
    assert.ok(refusedPaths.includes("/v1/traces") && refusedPaths.includes("/v1/metrics"));
    const warnings = () => lines.filter((l) => l.component === "MCP.Telemetry" && l.level === "warn");
    const logged = warnings().length;
    assert.ok(warnings().some((l) => l.signal === "traces" && /OTLP traces export failed: .*gateway_otel_export_failures_total/.test(l.msg)), "a warning naming the signal and the counter");

    await callAndFlush(client);
    const second = await failures();
    assert.ok(second.traces! > first.traces!, "the second failure is counted");
    assert.equal(warnings().length, logged, "but not logged again within the interval");
  } finally {
    await client.close();
  }
});
