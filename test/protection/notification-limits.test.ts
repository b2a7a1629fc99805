/**
 * Issue 11 item 17: notifications bypassed the rate limiter, and every
 * `notifications/roots/list_changed` fanned out to every upstream replica
 * (20,000 of them cost the upstream 3 CPU-seconds). Notifications now count
 * in their own window (rate_limiting.notification_limit) and are dropped past
 * it; the roots fan-out is coalesced. Real gateway, real server-everything.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { WsClient } from "../helpers/ws-client.js";

const INIT = { protocolVersion: "2025-06-18", capabilities: { roots: { listChanged: true } }, clientInfo: { name: "t", version: "1" } };

test("a notification flood is counted and capped, and roots/list_changed reaches each replica coalesced", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [everythingUpstream("a", { replicas: 2 })], rate_limiting: { notification_limit: 10, default_limit: 1000 } });
  const forwarded: string[] = [];
  for (const replica of gateway.manager.replicas()) {
    const connection = replica.connection!;
    const notify = connection.notify.bind(connection);
    connection.notify = (n) => {
      if (n.method === "notifications/roots/list_changed") forwarded.push(replica.id);
      return notify(n);
    };
  }
  const limited: unknown[] = [];
  const onClient = (e: unknown) => {
    if ((e as { type: string; key?: string }).type === "rate_limited" && (e as { key: string }).key === "notify:flood") limited.push(e);
  };
  subscribe("mcp-gateway:client", onClient);
  const client = await WsClient.open(url, "flood");
  try {
    await client.request("initialize", INIT);
    client.notify("notifications/initialized");
    for (let i = 0; i < 200; i++) client.notify("notifications/roots/list_changed");
    // A request after the flood: answered once every notification before it was decided (the backlog keeps order).
    assert.deepEqual((await client.request("ping")).result, {}, "requests have their own window");
    assert.equal(limited.length, 200 + 1 - 10, "everything past the notification window was dropped and reported");
    // Two replicas; the 9 roots notifications let through arrive in one burst: at most a leading and a trailing fan-out each.
    assert.ok(forwarded.length >= 2, `forwarded ${forwarded.length}`);
    assert.ok(forwarded.length <= 4, `forwarded ${forwarded.length} roots/list_changed to the replicas (not coalesced)`);
  } finally {
    unsubscribe("mcp-gateway:client", onClient);
    client.ws.close();
    await gateway.close();
  }
});

test("acks and cancellations are never counted", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { notification_limit: 1, default_limit: 1000 } });
  const limited: unknown[] = [];
  const onClient = (e: unknown) => {
    if ((e as { type: string }).type === "rate_limited") limited.push(e);
  };
  subscribe("mcp-gateway:client", onClient);
  const client = await WsClient.open(url, "acker");
  try {
    await client.request("initialize", INIT);
    for (let i = 0; i < 20; i++) {
      client.notify("notifications/gateway/ack", { seq: 1 });
      client.notify("notifications/cancelled", { requestId: 999 });
    }
    assert.deepEqual((await client.request("ping")).result, {});
    assert.equal(limited.length, 0);
  } finally {
    unsubscribe("mcp-gateway:client", onClient);
    client.ws.close();
    await gateway.close();
  }
});
