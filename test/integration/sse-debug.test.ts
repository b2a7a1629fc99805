// The guide's SSE debugging snippet: `GET /mcp/sse?client_id=debug_user&debug=true` gets `debug`
// events on its stream (what the client posted, each delivered message with its sequence number,
// the upstream and replica a call was routed to and how long it took). Without debug=true there are
// none; outside dev they need the debug switch, and the stream says so instead of staying silent.
import { test, after, before, describe } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway, everythingUpstream } from "../helpers/gateway.js";
import { openSse } from "../helpers/sse-reader.js";
import type { Gateway } from "../../src/gateway.js";

const post = (url: string, endpoint: string, body: unknown) => fetch(new URL(endpoint, url), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("debug events on an HTTP+SSE stream", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()] }));
  });
  after(() => gateway?.close());

  test("debug=true: received, sent (with seq), routed (upstream, replica, timing)", async () => {
    const sse = await openSse(`${url}/mcp/sse?client_id=debug_user&debug=true`);
    try {
      const endpoint = await sse.next("endpoint");
      assert.equal(JSON.parse(await sse.next("debug")).type, "debug_enabled");
      await post(url, endpoint, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "dbg", version: "1" } } });
      const events: Array<Record<string, any>> = [];
      // Debug events only (next() drops other types): the initialize answer went out when its `sent` shows up.
      while (!events.some((e) => e.type === "sent" && e.id === 1)) events.push(JSON.parse(await sse.next("debug")));
      await post(url, endpoint, { jsonrpc: "2.0", method: "notifications/initialized" });
      await post(url, endpoint, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { message: "hi" } } });
      while (!events.some((e) => e.type === "sent" && e.id === 2)) events.push(JSON.parse(await sse.next("debug")));
      const received = events.filter((e) => e.type === "received").map((e) => e.method);
      assert.deepEqual(received.slice(0, 3), ["initialize", "notifications/initialized", "tools/call"]);
      const routed = events.find((e) => e.type === "routed" && e.method === "tools/call")!;
      assert.ok(routed, JSON.stringify(events));
      assert.equal(routed.upstream, "everything");
      assert.match(routed.replica, /^everything/);
      assert.equal(typeof routed.duration_ms, "number");
      assert.equal(routed.ok, true);
      const sent = events.filter((e) => e.type === "sent");
      assert.deepEqual(sent.map((e) => e.id), [1, 2]);
      assert.ok(sent[1]!.seq > sent[0]!.seq, "sequence numbers grow");
    } finally {
      sse.close();
    }
  });

  test("without debug=true: no debug events", async () => {
    const sse = await openSse(`${url}/mcp/sse?client_id=plain_user`);
    try {
      const endpoint = await sse.next("endpoint");
      await post(url, endpoint, { jsonrpc: "2.0", id: 1, method: "ping" });
      await sse.next("message");
      assert.deepEqual(sse.take("debug"), []);
    } finally {
      sse.close();
    }
  });
});

test("outside dev: debug=true needs the debug switch, and the stream says so", async () => {
  const { gateway, url } = await startTestGateway({ profile: "test", admin: { token: "admin-secret-0123456789" }, upstreams: [] });
  try {
    const off = await openSse(`${url}/mcp/sse?client_id=u&debug=true`);
    assert.equal(JSON.parse(await off.next("debug")).type, "debug_disabled");
    off.close();
    gateway.config.update("debug", true);
    const on = await openSse(`${url}/mcp/sse?client_id=u&debug=true`);
    assert.equal(JSON.parse(await on.next("debug")).type, "debug_enabled");
    on.close();
  } finally {
    await gateway.close();
  }
});
