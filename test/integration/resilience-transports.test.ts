/** Client-transport breakers and the operator functions of the resilience service. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { channels } from "../../src/telemetry/channels.js";
import type { BreakerEvent } from "../../src/upstream/circuit-breaker.js";
import { connectClient, errorCode, record, resilienceOf } from "./resilience-helpers.js";

test("transport breaker: consecutive internal failures open it, requests get transport_unavailable, a probe closes it", async () => {
  const { gateway, url } = await startTestGateway({
    // A long reset_timeout so a loaded machine cannot reach half_open before the checks;
    // the timer's own transition is covered by test/upstream/circuit-breaker.test.ts.
    circuit_breaker: { failure_threshold: 3, reset_timeout: 60_000, half_open_successes: 1 },
    upstreams: [everythingUpstream("everything")],
  });
  const breakers = record<BreakerEvent>(channels.breaker.name);
  const c = await connectClient(url, "tb-client");
  try {
    const r = resilienceOf(gateway);
    assert.deepEqual(r.transportHealth("streamable_http"), { transport: "streamable_http", state: "closed", accepting: true, connections: 1, errors: 0 });
    // Internal failures reported to this gateway's clients on that transport count (the relay publishes them so).
    for (let i = 0; i < 3; i++) channels.error.publish({ type: "request", code: "internal_error", message: "boom", clientId: "tb-client", transport: "streamable_http" });
    // Someone else's client (another gateway in this process) does not.
    channels.error.publish({ type: "request", code: "internal_error", message: "boom", clientId: "nobody-here", transport: "websocket" });
    assert.equal(r.transportHealth("streamable_http").state, "open");
    assert.equal(r.transportHealth("websocket").state, "closed");
    const health = await (await fetch(`${url}/health/gateway`)).json();
    assert.equal(health.transports.streamable_http.circuit, "open");

    const err = await c.callTool({ name: "echo", arguments: { message: "x" } }).then(() => undefined, (e: unknown) => e);
    assert.equal(errorCode(err), "transport_unavailable");
    assert.match((err as Error).message, /streamable_http is unavailable/);

    r.core.transports.breakers.streamable_http.halfOpen(); // what the reset_timeout timer does
    await breakers.waitFor((e) => e.target === "streamable_http" && e.to === "half_open", 5000, "half_open");
    const ok = await c.callTool({ name: "echo", arguments: { message: "probe" } });
    assert.match(JSON.stringify(ok.content), /probe/);
    assert.equal(r.transportHealth("streamable_http").state, "closed");
    assert.deepEqual(breakers.events.filter((e) => e.target === "streamable_http").map((e) => `${e.from}>${e.to}`), ["closed>open", "open>half_open", "half_open>closed"]);

    // Operator reset by transport name (the guide's CircuitBreaker.reset(:mcp_gateway, :websocket)).
    for (let i = 0; i < 3; i++) r.core.transports.recordFailure("websocket", "internal_error");
    assert.equal(r.transportHealth("websocket").state, "open");
    assert.deepEqual(r.resetBreaker("websocket"), { reset: ["websocket"] });
    assert.equal(r.transportHealth("phoenix").state, "closed", "phoenix rides the websocket breaker");
    assert.throws(() => r.transportHealth("carrier-pigeon"), /unknown transport/);
  } finally {
    breakers.close();
    await c.close();
    await gateway.close();
  }
});

test("operator functions: breaker states, reset per upstream/replica/all, distribution, oscillation", async () => {
  const { gateway, url } = await startTestGateway({ routing: { vnodes: 40 }, upstreams: [everythingUpstream("e", { replicas: 2 })] });
  const c = await connectClient(url, "ops-client");
  try {
    const r = resilienceOf(gateway);
    await c.callTool({ name: "echo", arguments: { message: "x" } });
    const states = r.breakerStates();
    assert.deepEqual(states.map((b) => `${b.kind}:${b.target}:${b.state}`), ["transport:websocket:closed", "transport:http_sse:closed", "transport:streamable_http:closed", "upstream:e#0:closed", "upstream:e#1:closed"]);
    const dist = r.distribution();
    assert.deepEqual(dist.map((d) => [d.replica, d.upstream, d.weight, d.vnodes]), [["e#0", "e", 1, 40], ["e#1", "e", 1, 40]]);
    assert.equal(dist.reduce((n, d) => n + d.clients, 0), 1, "one client routed");
    gateway.config.update("routing.vnodes", 60);
    assert.deepEqual(r.distribution().map((d) => d.vnodes), [60, 60], "vnodes change applies at runtime");

    const h0 = r.core.health("e#0")!;
    h0.breaker.trip("test");
    assert.equal(r.breakerStates().find((b) => b.target === "e#0")!.state, "open");
    assert.deepEqual(r.resetBreaker("e"), { reset: ["e#0", "e#1"] });
    h0.breaker.trip("test");
    assert.deepEqual(r.resetBreaker("e#0"), { reset: ["e#0"] });
    assert.deepEqual(r.resetBreaker("all").reset, ["websocket", "http_sse", "streamable_http", "e#0", "e#1"]);
    assert.deepEqual(r.resetBreaker("nothing-by-that-name"), { reset: [] });
    assert.deepEqual(r.checkOscillation(), []);
    assert.deepEqual(r.checkOscillation("ops-client"), []);
    const pools = r.healthCheck();
    assert.equal(pools.upstreams[0]!.size, 100);
    assert.equal(pools.upstreams[0]!.overflow, 50);
    assert.equal(pools.totals.in_use, 0);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("a client hopping between transports shows up in check_oscillation (the guide's transport failover loop)", async () => {
  const { gateway, url } = await startTestGateway({ routing: { flap_limit: 3, flap_window: 60_000 }, upstreams: [everythingUpstream("everything")] });
  const c = await connectClient(url, "hopper");
  try {
    const r = resilienceOf(gateway);
    // As src/session/continuity.ts publishes them on each resume over another transport.
    for (let i = 0; i < 4; i++) channels.client.publish({ type: "transport_switch", clientId: "hopper", from: i % 2 ? "http_sse" : "websocket", to: i % 2 ? "websocket" : "http_sse" });
    channels.client.publish({ type: "transport_switch", clientId: "someone-elses", from: "websocket", to: "http_sse" });
    const report = r.checkOscillation("hopper");
    assert.equal(report.length, 1);
    assert.equal(report[0]!.target, "hopper@transport");
    assert.ok(report[0]!.held_until, "reported as flapping");
    assert.deepEqual(r.checkOscillation("someone-elses"), []);
  } finally {
    await c.close();
    await gateway.close();
  }
});

test("transport breaker fed by the real path: internal failures of real calls open it (no synthetic events)", async () => {
  const { gateway, url } = await startTestGateway({
    circuit_breaker: { failure_threshold: 3, reset_timeout: 60_000, half_open_successes: 1 },
    upstreams: [everythingUpstream("everything")],
  });
  const c = await connectClient(url, "tb-real");
  const catalog = gateway.catalog as unknown as { resolveTool: (name: string) => unknown };
  const resolveTool = catalog.resolveTool;
  try {
    const r = resilienceOf(gateway);
    // A client mistake (unknown tool) is answered but never counts against the transport.
    const unknown = await c.request({ method: "tools/call", params: { name: "no-such-tool", arguments: {} } }, CallToolResultSchema).then(
      (res) => res.isError === true,
      () => true,
    );
    assert.ok(unknown, "an unknown tool is refused");
    assert.equal(r.transportHealth("streamable_http").errors, 0);
    // A gateway bug in the request path (a dependency that throws): the relay answers internal_error,
    // publishes it with the session's transport, and the transport breaker counts it.
    catalog.resolveTool = () => {
      throw new TypeError("simulated gateway bug");
    };
    // Raw tools/call requests: Client.callTool may list tools in between, and a success resets the consecutive count.
    for (let i = 0; i < 3; i++) {
      const err = await c.request({ method: "tools/call", params: { name: "echo", arguments: { message: `b${i}` } } }, CallToolResultSchema).then(() => undefined, (e: unknown) => e);
      assert.equal(errorCode(err), "internal_error");
    }
    assert.equal(r.transportHealth("streamable_http").state, "open");
    assert.equal(r.transportHealth("websocket").state, "closed");
    catalog.resolveTool = resolveTool;
    const refused = await c.callTool({ name: "echo", arguments: { message: "x" } }).then(() => undefined, (e: unknown) => e);
    assert.equal(errorCode(refused), "transport_unavailable");
  } finally {
    catalog.resolveTool = resolveTool;
    await c.close();
    await gateway.close();
  }
});
