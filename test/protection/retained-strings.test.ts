/**
 * Issue 11 item 6: error texts and trace entries that embed client input
 * were kept in full (a 3 MB method name, 50 errors and 100 trace entries per
 * client, 10,000 clients: gigabytes). Every retained string is cut, and the
 * tracker's entries together stay within diagnostics.max_bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientTracker } from "../../src/telemetry/tracker.js";
import { GatewayError } from "../../src/errors/index.js";
import { startTestGateway } from "../helpers/gateway.js";
import { operationsOf } from "../../src/admin/install.js";

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

test("a huge method name is cut in the answer, the recorded errors and the trace", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { enabled: false } });
  try {
    const init = await fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "x-client-id": "huge" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }) });
    const session = init.headers.get("mcp-session-id")!;
    await init.text();
    const method = "m".repeat(1_000_000);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "mcp-session-id": session, "x-client-id": "huge" }, body: JSON.stringify({ jsonrpc: "2.0", id: 10 + i, method }) });
      const text = await res.text();
      const body = JSON.parse(text);
      assert.equal(body.error.code, -32601);
      assert.ok(text.length < 2000, `answer is ${text.length} chars`);
    }
    const { tracker } = operationsOf(gateway);
    const errors = tracker.errors("huge");
    assert.ok(errors.length >= 5);
    for (const e of errors) assert.ok(e.message.length <= 600, `recorded error of ${e.message.length} chars`);
    for (const entry of tracker.trace("huge")) {
      for (const [k, v] of Object.entries(entry)) if (typeof v === "string") assert.ok(v.length <= 600, `trace field ${k} of ${v.length} chars`);
    }
    assert.ok(tracker.retainedBytes < 200_000, `tracker keeps ${tracker.retainedBytes} bytes`);
  } finally {
    await gateway.close();
  }
});

test("GatewayError details that echo input are cut", () => {
  const e = new GatewayError("method_not_found", { method: "x".repeat(100_000) });
  assert.ok(e.message.length < 400);
  assert.ok(String(e.details.method).length < 400);
});

test("the tracker's entries stay within maxBytes across many clients, newest kept", () => {
  const maxBytes = 256 * 1024;
  const t = new ClientTracker({ maxBytes, maxString: 256 });
  const big = "e".repeat(50_000);
  for (let i = 0; i < 2000; i++) {
    const clientId = `c${i}`;
    t.error({ type: "request", code: "invalid_request", message: big, clientId, transport: "websocket" });
    t.client({ type: "rate_limited", clientId, detail: big, nested: { deep: big } });
    t.message({ direction: "inbound", clientId, sessionId: "s", transport: "websocket", size: 1, method: big });
  }
  assert.ok(t.retainedBytes <= maxBytes, `${t.retainedBytes} > ${maxBytes}`);
  assert.ok(t.knows("c1999"), "the newest client is kept");
  assert.equal(t.knows("c0"), false, "the oldest client was dropped");
  const trace = t.trace("c1999");
  assert.ok(trace.length >= 2);
  for (const entry of trace) for (const v of Object.values(entry)) if (typeof v === "string") assert.ok(v.length <= 300);
});
