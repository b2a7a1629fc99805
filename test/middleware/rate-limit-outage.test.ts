/**
 * The rate limiter while its store is down (a Redis outage): requests are let
 * through (fail open) and the failure is logged at most once per
 * `rate_limiting.store_warning_interval`, the next logged line counting the
 * ones that were not. The outage is a store whose `hit` rejects, injected
 * into a real gateway (no Redis is stopped); requests are real WebSocket
 * pings from the SDK client.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import { startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import type { LogEvent } from "../../src/telemetry/channels.js";
import { ThrottledLog } from "../../src/telemetry/throttled-log.js";

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/** Collects the lines published on the log channel until `stop`. */
function captureLogs(): { lines: LogEvent[]; stop: () => void } {
  const lines: LogEvent[] = [];
  const on = (e: unknown) => lines.push(e as LogEvent);
  subscribe("mcp-gateway:log", on);
  return { lines, stop: () => unsubscribe("mcp-gateway:log", on) };
}

describe("ThrottledLog", () => {
  test("logs the first line, counts the rest within the interval, reports the count in the next line", () => {
    let now = 1_000_000;
    const t = new ThrottledLog("warn", "Test.Throttle", () => 10_000, () => now);
    const cap = captureLogs();
    try {
      assert.equal(t.log("store failed", { clientId: "a" }), true);
      for (let i = 0; i < 5; i++) {
        now += 1000;
        assert.equal(t.log("store failed", { clientId: "a" }), false);
      }
      assert.equal(t.suppressed, 5);
      now += 4999; // 9999 ms after the first line: still inside the interval
      assert.equal(t.log("store failed"), false);
      now += 1; // exactly one interval later
      assert.equal(t.log("store failed", { clientId: "b" }), true);
      assert.equal(t.suppressed, 0);
      now += 10_000; // nothing suppressed since: a plain line
      assert.equal(t.log("store failed"), true);

      const mine = cap.lines.filter((l) => l.component === "Test.Throttle");
      assert.equal(mine.length, 3);
      assert.deepEqual(mine[0], { level: "warn", component: "Test.Throttle", msg: "store failed", clientId: "a" });
      assert.equal(mine[1]!.level, "warn");
      assert.equal(mine[1]!.suppressed, 6);
      assert.equal(mine[1]!.clientId, "b");
      assert.match(mine[1]!.msg, /^store failed \(6 more since the last such line, not logged\)$/);
      assert.equal(mine[2]!.suppressed, undefined);
      assert.equal(mine[2]!.msg, "store failed");
    } finally {
      cap.stop();
    }
  });
});

describe("rate limiter with a failing store (Redis outage)", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    // A long interval: however slow the machine, every request of the burst falls inside it.
    ({ gateway, url } = await startTestGateway({ rate_limiting: { default_limit: 100, window: 60_000, store_warning_interval: 600_000 } }));
    const store = gateway.rateLimiter!.store as { hit: (key: string, windowMs: number) => Promise<unknown> };
    store.hit = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"));
  });
  after(() => gateway?.close());

  test("every request passes; one warning for the burst, the next one counts the suppressed", async () => {
    const cap = captureLogs();
    const client = new Client({ name: "outage", version: "1" });
    try {
      // The session's admission (the upgrade) is checked first, then notifications/initialized; both fail open too.
      await client.connect(new WebSocketClientTransport(new URL(`${url.replace("http", "ws")}/mcp/ws?client_id=outage`)));
      for (let i = 0; i < 150; i++) await client.ping(); // over the limit of 100: the store is down, so nothing is refused
      const warnings = () => cap.lines.filter((l) => l.component === "MCP.RateLimiter" && /rate-limit store failed/.test(l.msg));
      assert.equal(warnings().length, 1, JSON.stringify(warnings()));
      assert.match(warnings()[0]!.msg, /ECONNREFUSED/);
      assert.equal(warnings()[0]!.suppressed, undefined);

      // The interval is runtime config: at 0 the next failure is logged at once, with the count.
      gateway.config.update("rate_limiting.store_warning_interval", 0);
      await client.ping();
      assert.equal(warnings().length, 2);
      assert.equal(warnings()[1]!.suppressed, 151); // admission + notifications/initialized + 150 pings, minus the one logged
      assert.match(warnings()[1]!.msg, /\(151 more since the last such line, not logged\)/);
      assert.equal(warnings()[1]!.clientId, "outage");
    } finally {
      cap.stop();
      await client.close();
    }
  });
});
