/**
 * A Streamable HTTP upstream that refuses connections trips its breaker
 * through the real path (failed reconnects), and calls then fail fast with
 * `circuit_open` instead of each waiting out pool.checkout_timeout
 * (issue 18 item 5).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { z } from "zod";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { channels } from "../../src/telemetry/channels.js";
import type { BreakerEvent } from "../../src/upstream/circuit-breaker.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream } from "../helpers/sdk-http-upstream.js";

function echoServer(): McpServer {
  const server = new McpServer({ name: "remote", version: "1.0.0" });
  server.registerTool("echo", { inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: "text", text: `echo: ${message}` }] }));
  return server;
}

test("reconnects refused by a Streamable HTTP upstream open its breaker, and calls fail fast with circuit_open", async () => {
  const upstream = await startSdkHttpUpstream(echoServer);
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    circuit_breaker: { failure_threshold: 2, reset_timeout: 60_000 },
    pool: { checkout_timeout: 5000 },
    upstreams: [{ name: "remote", transport: "streamable_http", url: upstream.url }],
  });
  const client = new Client({ name: "breaker", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  const replica = gateway.manager.groups.get("remote")!.replicas[0]!;
  let onBreaker: ((m: unknown) => void) | undefined;
  try {
    const ok = await client.callTool({ name: "echo", arguments: { message: "up" } });
    assert.match(JSON.stringify(ok.content), /echo: up/);

    const opened = new Promise<BreakerEvent>((resolve) => {
      onBreaker = (m) => {
        const e = m as BreakerEvent;
        if (e.target === replica.spec.id && e.to === "open") resolve(e);
      };
      diagnostics_channel.subscribe(channels.breaker.name, onBreaker);
    });
    await upstream.close();
    // Reconnect now (as after a dropped session): every attempt is refused.
    void replica.restart();
    const event = await opened;
    assert.match(event.reason ?? "", /connect failed/);
    assert.ok(replica.connectFailures >= 2);

    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => client.callTool({ name: "echo", arguments: { message: `call ${i}` } })));
    for (const r of results) {
      assert.equal(r.status, "rejected");
      const err = (r as PromiseRejectedResult).reason as { code?: number; data?: { error?: string } };
      assert.equal(err.data?.error, "circuit_open", JSON.stringify(err));
      assert.equal(err.code, -32003);
    }
  } finally {
    if (onBreaker) diagnostics_channel.unsubscribe(channels.breaker.name, onBreaker);
    await client.close();
    await gateway.close();
  }
});
