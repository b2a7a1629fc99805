/**
 * An SDK v1 Streamable HTTP upstream closes a call's SSE stream mid-call
 * (`extra.closeSSEStream`, SEP-1699 polling) after a priming event with a
 * `retry:` hint; the result is produced while the gateway waits out the hint.
 * The gateway must resume with Last-Event-ID after the hint and relay the
 * result, not lose it (issue 18 item 12).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { InMemoryEventStore } from "@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js";
import { startTestGateway } from "../helpers/gateway.js";
import { startSdkHttpUpstream } from "../helpers/sdk-http-upstream.js";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const RETRY_MS = 400;

test("a result produced while the gateway waits out an upstream's retry: hint is relayed after the resume", async () => {
  const upstream = await startSdkHttpUpstream(
    () => {
      const server = new McpServer({ name: "polling", version: "1.0.0" });
      server.registerTool("slow", {}, async (extra) => {
        assert.ok(extra.closeSSEStream, "the SDK offers closeSSEStream (event store + 2025-11-25 priming)");
        extra.closeSSEStream();
        // The result comes at once, while the gateway is disconnected and waits out the hint: it waits in the event store.
        return { content: [{ type: "text", text: "done after close" }] };
      });
      return server;
    },
    { eventStore: new InMemoryEventStore(), retryInterval: RETRY_MS },
  );
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [{ name: "polling", transport: "streamable_http", url: upstream.url }],
  });
  const client = new Client({ name: "retry-hint", version: "1" });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const call = client.callTool({ name: "slow", arguments: {} });
    const result = await call;
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.match(JSON.stringify(result.content), /done after close/);
    // And the upstream session still serves the next call the same way.
    const again = client.callTool({ name: "slow", arguments: {} });
    assert.match(JSON.stringify((await again).content), /done after close/);
  } finally {
    await client.close().catch(() => {});
    await gateway.close();
    await upstream.close();
  }
});

/** More polling rounds than the transport's reconnect attempts (10): polling is no failure. */
const ROUNDS = 12;

test("an upstream that polls (closes every resumed stream with a retry: hint) still gets its result through", async () => {
  // Emits "resumed" once a GET with Last-Event-ID has its stream attached in the SDK (its headers are written).
  const resumes = new EventEmitter();
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const servers: McpServer[] = [];
  const httpServer = http.createServer(async (req, res) => {
    const sid = req.headers["mcp-session-id"] as string | undefined;
    if (req.method === "GET" && req.headers["last-event-id"] !== undefined) {
      const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
      res.writeHead = ((...a: unknown[]) => {
        const r = writeHead(...a);
        setImmediate(() => resumes.emit("resumed"));
        return r;
      }) as typeof res.writeHead;
    }
    if (sid !== undefined) return void (await transports.get(sid)?.handleRequest(req, res));
    const server = new McpServer({ name: "poller", version: "1.0.0" });
    servers.push(server);
    server.registerTool("poll", {}, async (extra) => {
      for (let round = 0; round < ROUNDS; round++) {
        const resumed = once(resumes, "resumed");
        extra.closeSSEStream!();
        await resumed;
      }
      return { content: [{ type: "text", text: `done after ${ROUNDS} rounds` }] };
    });
    const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new InMemoryEventStore(),
      retryInterval: 20,
      onsessioninitialized: (id) => void transports.set(id, t),
    });
    await server.connect(t);
    await t.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const upstreamUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`;
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [{ name: "poller", transport: "streamable_http", url: upstreamUrl }],
  });
  const client = new Client({ name: "poll", version: "1" });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const result = await client.callTool({ name: "poll", arguments: {} });
    assert.equal(result.isError, undefined, JSON.stringify(result));
    assert.match(JSON.stringify(result.content), new RegExp(`done after ${ROUNDS} rounds`));
  } finally {
    await client.close().catch(() => {});
    await gateway.close();
    for (const s of servers) await s.close().catch(() => {});
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  }
});
