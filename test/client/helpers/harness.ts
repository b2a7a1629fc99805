/**
 * Shared set-up of the client SDK tests: an in-process gateway in front of
 * the numbered-stream fixture (a real stdio child), an SDK Client on a
 * GatewayClient, and a collector for the numbered updates.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import WebSocket from "ws";
import { startGateway, type Gateway } from "../../../src/gateway.js";
import { validateConfig } from "../../../src/config/index.js";
import type { GatewayConfigInput } from "../../../src/config/schema.js";
import { GatewayClient, type GatewayClientOptions, type WebSocketConstructor } from "../../../src/client/index.js";

export const FIXTURE = "test/fixtures/numbered-stream-server.ts";
export const STREAM_URI = "numbers://stream";

/** The upstream entry for the fixture. */
export function fixtureUpstream(): NonNullable<GatewayConfigInput["upstreams"]>[number] {
  return { name: "num", transport: "stdio", command: process.execPath, args: ["--import", "tsx", FIXTURE] };
}

/** Starts a quiet gateway with the fixture upstream (plus overrides). */
export async function startTestGateway(overrides: GatewayConfigInput = {}): Promise<{ gateway: Gateway; url: string; port: number }> {
  const config = validateConfig({
    server: { port: 0 },
    logging: { dir: "", stdout: false, level: "silent" },
    rate_limiting: { enabled: false },
    session: { replay_buffer_size: 50_000, replay_buffer_bytes: 64 * 1024 * 1024 },
    upstreams: [fixtureUpstream()],
    ...overrides,
  } as GatewayConfigInput);
  return startGateway(config);
}

/** The ws package as the WebSocket implementation (Node 20 has no global one). */
export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Counts numbered updates and checks their order. */
export class NumberCollector {
  received = 0;
  outOfOrder = 0;
  duplicates = 0;
  last = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  /** Records update number `n`. */
  add(n: number): void {
    this.received++;
    if (n <= this.last) this.duplicates++;
    else if (n !== this.last + 1) this.outOfOrder++;
    if (n > this.last) this.last = n;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.last >= w.n) w.resolve();
      return this.last < w.n;
    });
  }

  /** Resolves once update `n` arrived; rejects after `timeoutMs`. */
  until(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.last >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out at ${this.last}/${n} (received ${this.received})`)), timeoutMs);
      this.#waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

/** An SDK Client on a GatewayClient, subscribed to the numbered stream. */
export async function connectClient(options: GatewayClientOptions): Promise<{ client: Client; transport: GatewayClient; numbers: NumberCollector }> {
  const transport = new GatewayClient({ WebSocket: NodeWebSocket, reconnect: { baseMs: 50, maxMs: 500 }, recovery: { baseMs: 50, maxMs: 500 }, ...options });
  const client = new Client({ name: "client-sdk-test", version: "1.0.0" });
  const numbers = new NumberCollector();
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (m) => {
    const n = (m.params as { _meta?: { n?: number } })._meta?.n;
    if (typeof n === "number") numbers.add(n);
  });
  await client.connect(transport);
  await client.subscribeResource({ uri: STREAM_URI });
  return { client, transport, numbers };
}

/** Waits for a client event. */
export function nextEvent<K extends "open" | "close" | "reconnecting" | "transport_switch" | "gap" | "error" | "session_lost">(
  transport: GatewayClient,
  event: K,
  timeoutMs = 15_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    transport.once(event, (payload) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}
