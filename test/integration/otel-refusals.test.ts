/**
 * Requests the gateway refuses itself still show in traces: the rate limiter
 * (a middleware, before the relay) ends a SERVER span in ERROR with the
 * JSON-RPC code as error.type and the catalogue code as
 * mcp_gateway.error.code (an unknown tool, -32602, is the caller's fault: the
 * codes without the ERROR status), and
 * mcp.server.operation.duration counts them. So do parsed requests refused
 * at the HTTP edge before any session took them (a bad key, a session cap,
 * an unknown session). Real OTLP receiver, SDK client and SDK upstream.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream, type SdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { attrs, SPAN_KIND, STATUS, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from "../helpers/otlp-receiver.js";
import { traceEchoServer } from "../fixtures/trace-echo-server.js";
import type { Gateway } from "../../src/gateway.js";

/** Requests per window; the session's admission takes one of them. */
const LIMIT = 4;
/** Sessions per client (the cap test opens one more). */
const SESSIONS = 2;
const KEY = "otel-refusals-key";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

let receiver: OtlpReceiver;
let upstream: SdkHttpUpstream;
let gateway: Gateway;
let url: string;

before(async () => {
  receiver = await startOtlpReceiver();
  upstream = await startSdkHttpUpstream(() => traceEchoServer());
  ({ gateway, url } = await startTestGateway({
    upstreams: [{ name: "echo", transport: "streamable_http", url: upstream.url }],
    rate_limiting: { default_limit: LIMIT, window: 600_000 },
    session: { max_sessions_per_client: SESSIONS },
    auth: { mode: "api_key", api_keys: ["rl", "tool", "cap"].map((c) => ({ sha256: sha(`${KEY}-${c}`), client_id: `otel-refused-${c}` })) },
    telemetry: { otlp: { endpoint: receiver.url, traces_delay: 60_000, metrics_interval: 600_000 } },
  }));
});

after(async () => {
  await gateway?.close();
  await upstream?.close();
  await receiver?.close();
});

async function connect(who: string): Promise<Client> {
  const client = new Client({ name: who, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEY}-${who}` } } }));
  return client;
}

/** One raw POST to /mcp, as a client whose HTTP layer sends the trace context in headers. */
async function post(body: object, headers: Record<string, string>): Promise<{ status: number; body: { error?: { data?: { error?: string } } } }> {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: { data?: { error?: string } } } };
}

const parent = () => {
  const traceId = randomBytes(16).toString("hex");
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
};

async function serverSpansOf(traceId: string): Promise<OtlpSpan[]> {
  await gateway.otel!.flush();
  return receiver.spans.filter((s) => s.traceId === traceId && s.kind === SPAN_KIND.SERVER);
}

test("a request the rate limiter refuses gets a SERVER span in ERROR, and the server histogram counts it", async () => {
  const client = await connect("rl");
  try {
    let refused: { traceId: string; error: unknown } | undefined;
    for (let i = 0; i < LIMIT + 2 && refused === undefined; i++) {
      const p = parent();
      try {
        await client.callTool({ name: "echo_meta", arguments: {}, _meta: { traceparent: p.traceparent } });
      } catch (error) {
        refused = { traceId: p.traceId, error };
      }
    }
    assert.ok(refused, `a call past the limit of ${LIMIT} is refused`);
    assert.match(String((refused.error as Error).message), /rate/i);
    const spans = await serverSpansOf(refused.traceId);
    assert.equal(spans.length, 1, "one SERVER span, and no CLIENT span: nothing went upstream");
    assert.equal(receiver.spans.filter((s) => s.traceId === refused!.traceId && s.kind === SPAN_KIND.CLIENT).length, 0);
    const span = spans[0]!;
    assert.equal(span.name, "tools/call echo_meta");
    assert.equal(span.status?.code, STATUS.ERROR);
    const a = attrs(span.attributes);
    assert.equal(a["mcp.method.name"], "tools/call");
    assert.equal(a["mcp_gateway.error.code"], "rate_limit_exceeded");
    assert.equal(a["error.type"], a["rpc.response.status_code"]);
    assert.match(String(a["error.type"]), /^-?\d+$/, "the JSON-RPC code, as the convention says");
    assert.equal(a["mcp_gateway.client.id"], "otel-refused-rl");
    assert.equal(a["client.address"], "127.0.0.1");

    const points = receiver.metrics.filter((m) => m.name === "mcp.server.operation.duration").flatMap((m) => m.histogram!.dataPoints);
    assert.ok(points.some((p) => attrs(p.attributes)["error.type"] === a["error.type"] && attrs(p.attributes)["gen_ai.tool.name"] === "echo_meta"), "the refusal is in the histogram");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, new RegExp(`mcp_server_operation_duration_seconds_count\\{[^}]*error_type="${a["error.type"]}"[^}]*\\} [1-9]`));
  } finally {
    await client.close();
  }
});

test("the relay's own refusal (an unknown tool) ends its SERVER span with the catalogue code, as the caller's fault (no ERROR)", async () => {
  const client = await connect("tool");
  try {
    const p = parent();
    await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {}, _meta: { traceparent: p.traceparent } }));
    const [span] = await serverSpansOf(p.traceId);
    assert.ok(span, "a SERVER span");
    // -32602: the convention's server status rule counts it as the caller's fault, not the server's error.
    assert.equal(span.status?.code ?? STATUS.UNSET, STATUS.UNSET);
    const a = attrs(span.attributes);
    assert.equal(a["mcp_gateway.error.code"], "tool_not_found");
    assert.equal(a["rpc.response.status_code"], "-32602");
    assert.equal(a["error.type"], undefined);
    assert.equal(a["gen_ai.tool.name"], "no_such_tool");
  } finally {
    await client.close();
  }
});

test("refusals at the HTTP edge: a bad key, an unknown session, and a session past the cap each get a SERVER span in ERROR", async () => {
  const initialize = (id: number) => ({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });

  const badKey = parent();
  const unauthorized = await post(initialize(1), { authorization: "Bearer wrong", traceparent: badKey.traceparent });
  assert.equal(unauthorized.status, 401);

  const unknown = parent();
  const missing = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo_meta", arguments: {} } }, { authorization: `Bearer ${KEY}-tool`, "mcp-session-id": "no-such-session", traceparent: unknown.traceparent });
  assert.equal(missing.body.error?.data?.error, "session_not_found");

  const clients = [];
  try {
    for (let i = 0; i < SESSIONS; i++) clients.push(await connect("cap"));
    const capped = parent();
    const refused = await post(initialize(3), { authorization: `Bearer ${KEY}-cap`, traceparent: capped.traceparent });
    assert.equal(refused.body.error?.data?.error, "too_many_sessions");

    const expect: Array<[string, string, string, string | undefined]> = [
      [badKey.traceId, "initialize", "authentication_failed", undefined],
      [unknown.traceId, "tools/call echo_meta", "session_not_found", undefined],
      [capped.traceId, "initialize", "too_many_sessions", "otel-refused-cap"],
    ];
    for (const [traceId, name, code, clientId] of expect) {
      const spans = await serverSpansOf(traceId);
      assert.equal(spans.length, 1, `one SERVER span for ${code}`);
      const span = spans[0]!;
      assert.equal(span.name, name);
      assert.equal(span.status?.code, STATUS.ERROR, code);
      const a = attrs(span.attributes);
      assert.equal(a["mcp_gateway.error.code"], code);
      assert.match(String(a["error.type"]), /^-?\d+$/);
      assert.equal(a["mcp_gateway.client.id"], clientId);
      assert.equal(a["client.address"], "127.0.0.1");
      assert.equal(a["network.transport"], "tcp");
    }
  } finally {
    for (const c of clients) await c.close();
  }
});

test("the modern (2026-07-28) wire: a request refused for its credentials gets a SERVER span in ERROR", async () => {
  const p = parent();
  const body = {
    jsonrpc: "2.0",
    id: 7,
    method: "tools/call",
    params: { name: "echo_meta", arguments: {}, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, traceparent: p.traceparent } },
  };
  const refused = await post(body, { authorization: "Bearer wrong", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo_meta" });
  assert.equal(refused.status, 401);
  const [span] = await serverSpansOf(p.traceId);
  assert.ok(span, "a SERVER span, parented on the _meta traceparent");
  assert.equal(span.name, "tools/call echo_meta");
  assert.equal(span.status?.code, STATUS.ERROR);
  assert.equal(attrs(span.attributes)["mcp_gateway.error.code"], "authentication_failed");
});
