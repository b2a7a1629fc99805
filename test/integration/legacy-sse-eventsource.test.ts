/** HTTP+SSE with a plain EventSource (the `eventsource` package, as a browser would): the guide's events. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;
before(async () => {
  ({ gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()], http_sse: { heartbeat_interval: 50 } }));
});
after(() => gateway?.close());

test("endpoint, connected, heartbeat and message events reach a plain EventSource", async () => {
  const es = new EventSource(`${url}/mcp/sse?client_id=debug_user`);
  try {
    // Listeners first: the first events arrive together.
    const first = (type: string) => new Promise<string>((resolve) => es.addEventListener(type, (e) => resolve((e as MessageEvent).data), { once: true }));
    const [endpointP, connectedP, heartbeatP, reply] = [first("endpoint"), first("connected"), first("heartbeat"), first("message").then((d) => JSON.parse(d))];
    const endpoint = await endpointP;
    assert.match(endpoint, /^\/mcp\/messages\?session_id=/);
    const connected = JSON.parse(await connectedP);
    assert.equal(connected.client_id, "debug_user");
    assert.equal(connected.transport, "http_sse");
    const heartbeat = JSON.parse(await heartbeatP);
    assert.equal(typeof heartbeat.ts, "number");
    const post = await fetch(new URL(endpoint, url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "es", version: "1" } } }),
    });
    assert.equal(post.status, 202);
    const message = await reply;
    assert.equal(message.id, 1);
    assert.equal(message.result.protocolVersion, "2024-11-05");
  } finally {
    es.close();
  }
});
