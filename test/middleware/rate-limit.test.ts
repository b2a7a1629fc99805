/**
 * Rate limiting: one suite, run against the in-memory store and against the
 * Redis store on 127.0.0.1:6379 (unique key prefix per run), at the service
 * level and end to end through the gateway (JSON-RPC error on every
 * transport, HTTP 429 + Retry-After on a Streamable HTTP POST).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { ConfigStore, validateConfig } from "../../src/config/index.js";
import { RateLimiter } from "../../src/middleware/rate-limit/service.js";
import { MemoryRateStore } from "../../src/state/memory/rate-store.js";
import { RedisRateStore } from "../../src/state/redis/rate-store.js";
import type { RateStore } from "../../src/state/rate-store.js";
import { startTestGateway } from "../helpers/gateway.js";
import { testRedis } from "../helpers/redis.js";
import type { Gateway } from "../../src/gateway.js";

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

// A private redis-server for this file (test/helpers/redis.ts); without the binary the Redis cases skip.
const redis = await testRedis();
const REDIS_URL = redis.url;
const RUN = randomUUID().slice(0, 8);

const stores: Array<{ name: string; make: () => RateStore; gatewayRedis?: string; skip?: string | false }> = [
  { name: "memory", make: () => new MemoryRateStore() },
  { name: "redis", make: () => new RedisRateStore(REDIS_URL, `test:rl:${RUN}:${randomUUID().slice(0, 6)}`), gatewayRedis: REDIS_URL, skip: redis.skip },
];

for (const kind of stores) {
  describe(`RateLimiter with the ${kind.name} store`, { skip: kind.skip }, () => {
    let store: RateStore;
    let limiter: RateLimiter;
    before(() => {
      store = kind.make();
      limiter = new RateLimiter(store, new ConfigStore(validateConfig({ logging: { dir: "", stdout: false } })));
    });
    after(async () => {
      if (store instanceof RedisRateStore) await store.purge();
      await limiter.close();
    });

    test("100 requests pass, the 101st is refused with a sane retry_after", async () => {
      const key = `user:a-${RUN}`;
      for (let i = 1; i <= 100; i++) assert.equal((await limiter.consume(key)).allowed, true, `request ${i}`);
      const v = await limiter.consume(key);
      assert.equal(v.allowed, false);
      assert.ok(v.retryAfter! >= 1 && v.retryAfter! <= 60, `retry_after ${v.retryAfter}`);
    });

    test("check_rate reports without consuming", async () => {
      const key = `user:b-${RUN}`;
      for (let i = 0; i < 3; i++) await limiter.consume(key);
      const a = await limiter.check(key, 100, 60_000);
      const b = await limiter.check(key, 100, 60_000);
      assert.deepEqual(a, b);
      assert.equal(a.count, 3);
      assert.equal(a.remaining, 97);
      assert.equal(a.allowed, true);
      assert.equal(a.retry_after, null);
      const tight = await limiter.check(key, 3, 60_000);
      assert.equal(tight.allowed, false);
      assert.ok(tight.retry_after! >= 1 && tight.retry_after! <= 60);
    });

    test("per-key limits are set and reset at runtime", async () => {
      const key = `user:c-${RUN}`;
      await limiter.setLimit(key, 2, 60_000);
      assert.equal((await limiter.consume(key)).allowed, true);
      assert.equal((await limiter.consume(key)).allowed, true);
      assert.equal((await limiter.consume(key)).allowed, false);
      assert.deepEqual((await limiter.stats()).overrides[key], { limit: 2, window_ms: 60_000 });
      await limiter.reset(key);
      assert.equal((await limiter.check(key)).count, 0);
      assert.equal((await limiter.check(key)).limit, 100);
      assert.equal((await limiter.stats()).overrides[key], undefined);
    });

    test("stats list the most-limited keys first", async () => {
      const k1 = `user:d1-${RUN}`;
      const k2 = `user:d2-${RUN}`;
      await limiter.setLimit(k1, 1);
      await limiter.setLimit(k2, 1);
      for (let i = 0; i < 4; i++) await limiter.consume(k1);
      for (let i = 0; i < 2; i++) await limiter.consume(k2);
      const stats = await limiter.stats();
      const mine = stats.most_limited.filter((r) => r.key === k1 || r.key === k2);
      assert.deepEqual(mine, [{ key: k1, rejected: 3 }, { key: k2, rejected: 1 }]);
      assert.ok(stats.total_rejected >= 4);
      assert.equal(stats.default_limit, 100);
      assert.equal(stats.window_ms, 60_000);
    });

    test("windows expire: a 1 s window lets requests through again", async () => {
      const key = `user:e-${RUN}`;
      await limiter.setLimit(key, 1, 1000);
      assert.equal((await limiter.consume(key)).allowed, true);
      const refused = await limiter.consume(key);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfter, 1);
      const deadline = Date.now() + 5000;
      let allowed = false;
      while (!allowed && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        allowed = (await limiter.check(key)).allowed;
      }
      assert.ok(allowed, "window did not reset within 5 s");
    });
  });

  describe(`the gateway's rate limit middleware (${kind.name} store)`, { skip: kind.skip }, () => {
    let gateway: Gateway;
    let url: string;
    const events: unknown[] = [];
    const onClient = (e: unknown) => events.push(e);
    before(async () => {
      subscribe("mcp-gateway:client", onClient);
      ({ gateway, url } = await startTestGateway({ cluster: kind.gatewayRedis ? { redis_url: kind.gatewayRedis } : {}, rate_limiting: { default_limit: 100, window: 60_000 } }));
    });
    after(async () => {
      unsubscribe("mcp-gateway:client", onClient);
      await gateway?.close();
    });

    test("Streamable HTTP: the 101st request is rate_limit_exceeded, HTTP 429 + Retry-After", async () => {
      const clientId = `rl-http-${kind.name}-${RUN}`;
      const base = { "content-type": "application/json", accept: "application/json, text/event-stream", "x-client-id": clientId };
      const init = await fetch(`${url}/mcp`, { method: "POST", headers: base, body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }) });
      assert.equal(init.status, 200);
      const headers = { ...base, "mcp-session-id": init.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-06-18" };
      // initialize was request 1; 99 pings bring the window to 100.
      for (let i = 1; i < 100; i++) {
        const r = await fetch(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: i, method: "ping" }) });
        assert.equal(r.status, 200, `request ${i + 1}`);
        await r.arrayBuffer();
      }
      // Notifications are not counted.
      const n = await fetch(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
      assert.equal(n.status, 202);
      const r = await fetch(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 101, method: "ping" }) });
      assert.equal(r.status, 429);
      const retry = Number(r.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
      const body = await r.json();
      assert.equal(body.id, 101);
      assert.equal(body.error.code, -32029);
      assert.equal(body.error.data.error, "rate_limit_exceeded");
      assert.equal(body.error.data.retry_after, retry);
      assert.ok(events.some((e) => (e as { type: string; clientId: string }).type === "rate_limited" && (e as { clientId: string }).clientId === clientId));
      const check = await gateway.rateLimiter!.check(`user:${clientId}`);
      assert.equal(check.allowed, false);
    });

    test("WebSocket (SDK client): the 101st request fails with the JSON-RPC error and retry_after", async () => {
      const clientId = `rl-ws-${kind.name}-${RUN}`;
      const client = new Client({ name: "rl", version: "1" });
      await client.connect(new WebSocketClientTransport(new URL(`${url.replace("http", "ws")}/mcp/ws?client_id=${clientId}`)));
      try {
        for (let i = 1; i < 100; i++) await client.ping();
        await assert.rejects(client.ping(), (err: { code: number; data: { error: string; retry_after: number } }) => {
          assert.equal(err.code, -32029);
          assert.equal(err.data.error, "rate_limit_exceeded");
          assert.ok(err.data.retry_after >= 1 && err.data.retry_after <= 60);
          return true;
        });
        // A raised limit applies at once.
        await gateway.rateLimiter!.setLimit(`user:${clientId}`, 1000);
        await client.ping();
      } finally {
        await client.close();
      }
    });

    test("the SDK's Streamable HTTP client sees the 429 too", async () => {
      const clientId = `rl-sdk-${kind.name}-${RUN}`;
      await gateway.rateLimiter!.setLimit(`user:${clientId}`, 2);
      const client = new Client({ name: "rl", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${clientId}`)));
      try {
        await client.ping(); // initialize was 1, this is 2
        await assert.rejects(client.ping(), /429|rate_limit_exceeded/);
      } finally {
        await client.close();
      }
    });
  });
}
