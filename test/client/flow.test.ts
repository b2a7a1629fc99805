// Flow control and acks against a real gateway: at most maxPending messages
// in the application's hands (an onmessage that returns a promise keeps its
// message pending until it settles), every processed message acked to the
// gateway; and a rate-limited call surfacing as a JSON-RPC error with the
// gateway's data (Streamable HTTP: HTTP 429 + JSON-RPC body).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Gateway } from "../../src/gateway.js";
import { GatewayClient } from "../../src/client/index.js";
import { connectClient, NodeWebSocket, startTestGateway, STREAM_URI } from "./helpers/harness.js";

let gateway: Gateway;
let url: string;
let limited: Gateway;
let limitedUrl: string;

before(async () => {
  ({ gateway, url } = await startTestGateway());
  ({ gateway: limited, url: limitedUrl } = await startTestGateway({ rate_limiting: { enabled: true, default_limit: 4, window: 60_000 } }));
});

after(async () => {
  await gateway?.close();
  await limited?.close();
});

test("maxPending bounds the messages in the application's hands; processed ones are acked", async () => {
  const transport = new GatewayClient({ url, clientId: "flow-client", transports: ["websocket"], WebSocket: NodeWebSocket, maxPending: 5 });
  const answers = new Map<number, (m: JSONRPCMessage) => void>();
  const numbers: number[] = [];
  let inHand = 0;
  let maxInHand = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  transport.onmessage = (m) => {
    const msg = m as { id?: number; method?: string; params?: { _meta?: { n?: number } } };
    if (msg.id !== undefined && msg.method === undefined) {
      answers.get(msg.id)?.(m);
      return;
    }
    if (msg.method !== "notifications/resources/updated") return;
    inHand++;
    maxInHand = Math.max(maxInHand, inHand);
    // Slow, asynchronous processing: the message stays pending until this settles.
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        inHand--;
        numbers.push(msg.params!._meta!.n!);
        if (numbers.length === 500) done();
        resolve();
      }),
    );
  };
  let id = 0;
  const call = (method: string, params?: Record<string, unknown>) =>
    new Promise<JSONRPCMessage>((resolve) => {
      answers.set(++id, resolve);
      void transport.send({ jsonrpc: "2.0", id, method, params } as JSONRPCMessage);
    });
  try {
    await transport.start();
    await call("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "flow", version: "1" } });
    await transport.send({ jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage);
    await call("resources/subscribe", { uri: STREAM_URI });
    await call("tools/call", { name: "stream_updates", arguments: { count: 500 } });
    await all;
    assert.deepEqual(numbers, Array.from({ length: 500 }, (_, i) => i + 1), "all, in order");
    assert.ok(maxInHand <= 5, `at most maxPending in hand (saw ${maxInHand})`);
    assert.equal(maxInHand, 5, "the window was used");
    // The last acks are coalesced (ackDelayMs): wait for the gateway to see them, bounded.
    const session = gateway.registry.get(transport.gatewaySessionId!)!;
    for (let i = 0; i < 100 && session.ackedSeq < transport.lastSeq; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(session.ackedSeq, transport.lastSeq, "the gateway saw every processed message acknowledged");
    assert.equal(session.pendingAcks, 0);
  } finally {
    await transport.close();
  }
});

test("a rate-limited call fails with the gateway's rate_limit_exceeded data (Streamable HTTP 429)", async () => {
  const { client, transport } = await connectClient({ url: limitedUrl, clientId: "flow-limited", transports: ["streamable_http"] });
  try {
    let refusal: unknown;
    for (let i = 0; i < 10 && !refusal; i++) {
      await client.callTool({ name: "echo", arguments: { text: String(i) } }).catch((e: unknown) => (refusal = e));
    }
    assert.ok(refusal instanceof McpError, `an McpError: ${String(refusal)}`);
    assert.equal((refusal.data as { error?: string }).error, "rate_limit_exceeded");
    assert.equal(typeof (refusal.data as { retry_after?: unknown }).retry_after, "number");
    assert.equal(transport.state, "open", "a refused call does not drop the connection");
  } finally {
    await client.close();
  }
});
