/**
 * Upstream era negotiation and the modern adapter, against scripted upstreams
 * over an in-memory wire: what goes on the wire for each `protocol:` mode and
 * each kind of probe answer, the envelope, the methods the modern wire
 * removed, and the MRTR bridge for legacy callers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryTransport } from "../../src/protocol/memory-transport.js";
import type { JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from "../../src/protocol/jsonrpc.js";
import { UpstreamConnection, type PendingCall } from "../../src/upstream/connection.js";
import type { HandshakePlan } from "../../src/upstream/handshake/index.js";
import { modernHeaders } from "../../src/upstream/transports/modern-headers.js";

const PV = "io.modelcontextprotocol/protocolVersion";
const CAPS = "io.modelcontextprotocol/clientCapabilities";

type Answer = (req: JsonRpcRequest) => Record<string, unknown> | { error: { code: number; message: string; data?: unknown } } | undefined;

/** A scripted upstream: records everything it receives, answers requests through `answer`. */
function upstream(answer: Answer) {
  const [near, far] = MemoryTransport.pair();
  const seen: JsonRpcMessage[] = [];
  far.onmessage = (m) => {
    seen.push(m);
    const req = m as JsonRpcRequest;
    if (req.method === undefined || req.id === undefined) return;
    const a = answer(req);
    if (a === undefined) return;
    far.send("error" in a ? ({ jsonrpc: "2.0", id: req.id, error: a.error } as JsonRpcResponse) : { jsonrpc: "2.0", id: req.id, result: a });
  };
  return { near, far, seen, methods: () => seen.map((m) => (m as JsonRpcRequest).method ?? "(response)") };
}

const DISCOVER = { resultType: "complete", supportedVersions: ["2026-07-28"], capabilities: { tools: {}, logging: {} }, instructions: "modern one", _meta: { "io.modelcontextprotocol/serverInfo": { name: "m", version: "9" } } };
const INIT = { protocolVersion: "2025-11-25", capabilities: { tools: {} }, serverInfo: { name: "l", version: "1" } };

function connection(t: MemoryTransport, plan: HandshakePlan): UpstreamConnection {
  const c = new UpstreamConnection("u", "u#0", t);
  c.handshake = plan;
  return c;
}

/** A relay-like caller: a legacy session that can be asked for elicitation. */
function call(method: string, answers: JsonRpcResponse[], owner: Record<string, unknown> = { era: "legacy", clientCapabilities: { elicitation: {} }, logLevel: "info" }): PendingCall {
  const now = Date.now();
  return { upstreamId: 0, originalId: "client-1", method, startedAt: now, deadline: now + 10_000, owner, sink: { onUpstreamResponse: (r) => answers.push(r) } };
}

test("auto: a discover result offering 2026-07-28 makes the upstream modern; no initialize is sent", async () => {
  const u = upstream((r) => (r.method === "server/discover" ? DISCOVER : { ok: true }));
  const c = connection(u.near, { mode: "auto", wire: "stdio" });
  const identity = await c.connect(2000);
  assert.equal(identity.era, "modern");
  assert.equal(identity.protocolVersion, "2026-07-28");
  assert.equal(identity.instructions, "modern one");
  assert.deepEqual(identity.serverInfo, { name: "m", version: "9" });
  assert.deepEqual(u.methods(), ["server/discover"]);
  const probe = u.seen[0] as JsonRpcRequest;
  assert.equal((probe.params!._meta as Record<string, unknown>)[PV], "2026-07-28");
  assert.equal(c.attributesRelated, true, "MRTR makes every input request attributable");
});

test("auto: method-not-found on discover falls back to initialize (legacy)", async () => {
  const u = upstream((r) => (r.method === "server/discover" ? { error: { code: -32601, message: "Method not found" } } : r.method === "initialize" ? INIT : {}));
  const c = connection(u.near, { mode: "auto", wire: "http" });
  const identity = await c.connect(2000);
  assert.equal(identity.era, "legacy");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(u.methods(), ["server/discover", "initialize", "notifications/initialized"]);
});

test("auto: a discover result without our version, or -32022, is legacy; HTTP 401 and outages are errors", async () => {
  for (const answer of [{ resultType: "complete", supportedVersions: ["2027-01-01"], capabilities: {} }, { error: { code: -32022, message: "Unsupported", data: { supported: ["2027-01-01"], requested: "2026-07-28" } } }]) {
    const u = upstream((r) => (r.method === "server/discover" ? answer : INIT));
    assert.equal((await connection(u.near, { mode: "auto", wire: "http" }).connect(2000)).era, "legacy");
  }
  const refused = upstream((r) => (r.method === "server/discover" ? { error: { code: -32018, message: "HTTP 401", data: { error: "upstream_error", status: 401 } } } : INIT));
  await assert.rejects(connection(refused.near, { mode: "auto", wire: "http" }).connect(2000), /refused the server\/discover probe \(HTTP 401\)/);
  const down = upstream((r) => (r.method === "server/discover" ? { error: { code: -32016, message: "unreachable", data: { error: "upstream_unavailable", reason: "ECONNREFUSED" } } } : INIT));
  await assert.rejects(connection(down.near, { mode: "auto", wire: "http" }).connect(2000), /ECONNREFUSED/);
  assert.ok(!down.methods().includes("initialize"), "an outage is never read as a legacy server");
});

test("auto on stdio: a silent server is a legacy server; on HTTP silence is an error", async () => {
  // The probe's timer is unref'd (it must not hold a shutting-down gateway open); a real wire keeps the loop alive.
  const alive = setInterval(() => {}, 1000);
  const silent = upstream((r) => (r.method === "initialize" ? INIT : undefined));
  assert.equal((await connection(silent.near, { mode: "auto", wire: "stdio", probeTimeoutMs: 50 }).connect(2000)).era, "legacy");
  const silentHttp = upstream((r) => (r.method === "initialize" ? INIT : undefined));
  await assert.rejects(connection(silentHttp.near, { mode: "auto", wire: "http", probeTimeoutMs: 50 }).connect(2000), /timed out/);
  clearInterval(alive);
});

test("modern requires discover; legacy never probes; SSE/WebSocket wires are always legacy", async () => {
  const legacyOnly = upstream((r) => (r.method === "initialize" ? INIT : { error: { code: -32601, message: "Method not found" } }));
  await assert.rejects(connection(legacyOnly.near, { mode: "modern", wire: "stdio" }).connect(2000), /protocol: modern but is not a 2026-07-28 server/);
  assert.ok(!legacyOnly.methods().includes("initialize"));
  for (const plan of [{ mode: "legacy", wire: "stdio" }, { mode: "auto", wire: "other" }] as HandshakePlan[]) {
    const u = upstream((r) => (r.method === "initialize" ? INIT : DISCOVER));
    assert.equal((await connection(u.near, plan).connect(2000)).era, "legacy");
    assert.equal(u.methods()[0], "initialize");
  }
});

test("modern: every request carries the caller's envelope; ping, logging/setLevel and removed notifications are mapped", async () => {
  const u = upstream((r) => (r.method === "server/discover" ? DISCOVER : { resultType: "complete", tools: [], ttlMs: 5000, cacheScope: "public" }));
  const c = connection(u.near, { mode: "auto", wire: "stdio" });
  await c.connect(2000);
  const answers: JsonRpcResponse[] = [];
  c.forward({ jsonrpc: "2.0", id: "client-1", method: "tools/list", params: { _meta: { progressToken: 7 } } }, call("tools/list", answers));
  await new Promise((r) => setTimeout(r, 10));
  const sent = u.seen.at(-1) as JsonRpcRequest;
  const meta = sent.params!._meta as Record<string, unknown>;
  assert.equal(meta[PV], "2026-07-28");
  assert.deepEqual(meta[CAPS], { elicitation: {} });
  assert.equal(meta["io.modelcontextprotocol/logLevel"], "info");
  assert.equal(typeof meta.progressToken, "string", "progress tokens are still made unique per connection");
  assert.deepEqual(c.cacheHint("tools/list"), { ttlMs: 5000, cacheScope: "public" });
  assert.equal(answers[0]!.id, "client-1");

  await c.request("ping", {}, 1000);
  assert.equal((u.seen.at(-1) as JsonRpcRequest).method, "server/discover", "ping has no modern counterpart: discover proves liveness");
  const before = u.seen.length;
  assert.deepEqual(await c.request("logging/setLevel", { level: "debug" }, 1000), {});
  c.notify({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(u.seen.length, before, "setLevel answered by the gateway; roots/list_changed not sent");
});

test("MRTR bridge: input_required becomes a server->client request to the legacy caller, and its answer the retry", async () => {
  let round = 0;
  const u = upstream((r) => {
    if (r.method === "server/discover") return DISCOVER;
    round++;
    if (!r.params?.inputResponses) {
      return { resultType: "input_required", requestState: "s1", inputRequests: { ok: { method: "elicitation/create", params: { mode: "form", message: "Sure?", requestedSchema: { type: "object", properties: {} } } } } };
    }
    return { resultType: "complete", content: [{ type: "text", text: `got ${JSON.stringify(r.params.inputResponses)} state ${r.params.requestState}` }] };
  });
  const c = connection(u.near, { mode: "auto", wire: "stdio" });
  await c.connect(2000);
  const asked: Array<{ request: JsonRpcRequest; related: unknown }> = [];
  c.onServerMessage = (m, extra) => asked.push({ request: m as JsonRpcRequest, related: extra?.relatedRequestId });
  const answers: JsonRpcResponse[] = [];
  const pending = call("tools/call", answers);
  c.forward({ jsonrpc: "2.0", id: "client-1", method: "tools/call", params: { name: "t", arguments: {} } }, pending);
  while (asked.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(asked[0]!.request.method, "elicitation/create");
  assert.equal(c.findCall(asked[0]!.related as number), pending, "attributed exactly to the waiting call");
  assert.equal(answers.length, 0, "the caller sees no input_required");
  c.respond({ jsonrpc: "2.0", id: asked[0]!.request.id, result: { action: "accept", content: { yes: true } } });
  while (answers.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(round, 2);
  assert.equal(answers[0]!.id, "client-1");
  assert.deepEqual((answers[0] as { result: { content: unknown } }).result.content, [{ type: "text", text: 'got {"ok":{"action":"accept","content":{"yes":true}}} state s1' }]);
});

test("MRTR bridge: a refused input request ends the call with a clear error; a request with its own retry channel is passed through", async () => {
  const u = upstream((r) =>
    r.method === "server/discover" ? DISCOVER : { resultType: "input_required", requestState: "s", inputRequests: { a: { method: "sampling/createMessage", params: { messages: [], maxTokens: 1 } } } },
  );
  const c = connection(u.near, { mode: "auto", wire: "stdio" });
  await c.connect(2000);
  const asked: JsonRpcRequest[] = [];
  c.onServerMessage = (m) => asked.push(m as JsonRpcRequest);
  const answers: JsonRpcResponse[] = [];
  c.forward({ jsonrpc: "2.0", id: "client-1", method: "tools/call", params: { name: "t" } }, call("tools/call", answers));
  while (asked.length === 0) await new Promise((r) => setTimeout(r, 5));
  c.respond({ jsonrpc: "2.0", id: asked[0]!.id, error: { code: -32601, message: "no sampling here" } });
  while (answers.length === 0) await new Promise((r) => setTimeout(r, 5));
  const err = (answers[0] as { error: { code: number; message: string; data: Record<string, unknown> } }).error;
  assert.equal(err.data.error, "upstream_error");
  assert.match(err.message, /could not answer tools\/call's input request "a": no sampling here/);

  // A request that carries its own retry channel is someone else's round: input_required goes back as is.
  const driven: JsonRpcResponse[] = [];
  c.forward({ jsonrpc: "2.0", id: "m-1", method: "tools/call", params: { name: "t", requestState: "theirs" } }, call("tools/call", driven, { era: "modern", clientCapabilities: {} }));
  while (driven.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal((driven[0] as { result: { resultType: string } }).result.resultType, "input_required");
});

test("SEP-2243 headers come from the body: version, method, name (Base64 when unsafe); none for legacy messages", () => {
  const meta = { [PV]: "2026-07-28", [CAPS]: {} };
  assert.deepEqual(modernHeaders({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", _meta: meta } }), { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" });
  assert.equal(modernHeaders({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "file:///ünï cödé", _meta: meta } })!["mcp-name"], `=?base64?${Buffer.from("file:///ünï cödé").toString("base64")}?=`);
  assert.equal(modernHeaders({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta } })!["mcp-name"], undefined);
  assert.equal(modernHeaders({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } }), undefined);
});

test("config: protocol defaults to auto; modern is refused on SSE and WebSocket upstreams", async () => {
  const { validateConfig } = await import("../../src/config/index.js");
  const ok = validateConfig({ upstreams: [{ name: "a", transport: "stdio", command: "x" }, { name: "b", transport: "streamable_http", url: "http://127.0.0.1:1/mcp", protocol: "modern" }] });
  assert.deepEqual(ok.upstreams.map((u) => u.protocol), ["auto", "modern"]);
  assert.throws(() => validateConfig({ upstreams: [{ name: "s", transport: "sse", url: "http://127.0.0.1:1/sse", protocol: "modern" }] }), /protocol "modern" needs a stdio or streamable_http upstream/);
});

test("x-mcp-header arguments learned from tools/list are mirrored into Mcp-Param-* headers of tools/call", async () => {
  const { scanParamHeaders, buildParamHeaders } = await import("../../src/upstream/modern/param-headers.js");
  const schema = { type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" }, opts: { type: "object", properties: { tier: { type: "integer", "x-mcp-header": "Tier" } } }, list: { type: "array", items: { type: "string", "x-mcp-header": "Nope" } } } };
  const declarations = scanParamHeaders(schema);
  assert.deepEqual(declarations.map((d) => d.header), ["Region", "Tier"], "only properties-chain declarations count");
  assert.deepEqual(buildParamHeaders(declarations, { region: "zürich", opts: { tier: 3 } }), { "mcp-param-region": `=?base64?${Buffer.from("zürich").toString("base64")}?=`, "mcp-param-tier": "3" });
  assert.equal(buildParamHeaders(declarations, { region: null }), undefined, "absent or null arguments get no header");

  // Through a connection: the adapter learns the declaration from tools/list and attaches the header to the call.
  const { extraHeaders } = await import("../../src/upstream/transports/modern-headers.js");
  const u = upstream((r) => (r.method === "server/discover" ? DISCOVER : r.method === "tools/list" ? { resultType: "complete", tools: [{ name: "where", inputSchema: schema }], ttlMs: 0, cacheScope: "private" } : { resultType: "complete", content: [] }));
  const c = connection(u.near, { mode: "auto", wire: "http" });
  const sent: JsonRpcRequest[] = [];
  const send = u.near.send.bind(u.near);
  u.near.send = (m, extra) => {
    sent.push(m as JsonRpcRequest);
    return send(m, extra);
  };
  await c.connect(2000);
  await c.request("tools/list", {}, 1000);
  const answers: JsonRpcResponse[] = [];
  c.forward({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "where", arguments: { region: "eu" } } }, call("tools/call", answers));
  const callMessage = sent.at(-1)!;
  assert.deepEqual(modernHeaders(callMessage), { "mcp-param-region": "eu", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "where" });
  assert.ok(extraHeaders.has(callMessage));
});
