// /metrics: the guide's metric names and labels after real traffic, the
// breaker encoding, latency histograms, and one registry per gateway.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway, type Gateway } from "../../src/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { breakerValue } from "../../src/telemetry/metrics.js";
import { WsClient } from "../helpers/ws-client.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const everything = join(root, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
let a: { gateway: Gateway; url: string };
let b: { gateway: Gateway; url: string };
const config = () => validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }] });

before(async () => {
  a = await startGateway(config());
  b = await startGateway(config());
});
after(async () => {
  await a?.gateway.close();
  await b?.gateway.close();
});

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("the guide's metrics, with its labels, count this gateway's traffic only", async () => {
  const c = await WsClient.open(a.url, "m1");
  await c.initialize();
  const tools = (await c.request("tools/list")).result.tools as Array<{ name: string }>;
  await c.request("tools/call", { name: tools.find((t) => t.name.endsWith("echo"))!.name, arguments: { message: "x" } });
  await c.request("tools/call", { name: "missing", arguments: {} });
  const text = await (await fetch(`${a.url}/metrics`)).text();
  assert.equal(value(text, 'gateway_connections_total{transport="websocket"}'), 1);
  assert.equal(value(text, 'gateway_connections_total{transport="http_sse"}'), 0);
  assert.ok(value(text, 'gateway_messages_total{direction="inbound"}')! >= 4);
  assert.ok(value(text, 'gateway_messages_total{direction="outbound"}')! >= 3);
  assert.equal(value(text, 'gateway_errors_total{type="request",code="tool_not_found"}'), 1);
  assert.equal(value(text, 'gateway_connections_active{transport="websocket"}'), 1);
  assert.match(text, /^gateway_pool_usage_ratio \d/m);
  assert.equal(value(text, 'gateway_circuit_breaker_state{transport="websocket"}'), 1);
  assert.match(text, /^gateway_request_duration_seconds_bucket\{le="[\d.]+",method="tools\/call",upstream="everything"\}/m);
  assert.match(text, /^gateway_requests_total\{method="tools\/call",upstream="everything",outcome="ok"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
  const other = await (await fetch(`${b.url}/metrics`)).text();
  assert.equal(value(other, 'gateway_connections_total{transport="websocket"}'), 0, "the other gateway saw nothing");
  c.ws.terminate();
});

test("breaker states encode as the guide says", () => {
  assert.deepEqual([breakerValue("closed"), breakerValue("half_open"), breakerValue("open")], [1, 0.5, 0]);
});
