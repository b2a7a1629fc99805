/**
 * Live traffic for the console's tests, screenshots and CPU bench: real SDK
 * clients over Streamable HTTP and HTTP+SSE, and bare WebSocket clients,
 * each calling `echo` in a loop (paced, bounded by stop()); every
 * `failEvery`-th call names a tool that does not exist, so errors show.
 */
import { setTimeout as delay } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { WsClient } from "../helpers/ws-client.js";

export interface TrafficOptions {
  http?: number;
  sse?: number;
  ws?: number;
  /** Pause between one client's calls (ms): paces the load, it is not a wait for a condition. */
  paceMs?: number;
  failEvery?: number;
  prefix?: string;
  /** The tool called (as clients see it). */
  tool?: string;
}

export async function startTraffic(url: string, o: TrafficOptions = {}) {
  const { http = 3, sse = 1, ws = 2, paceMs = 40, failEvery = 0, prefix = "agent", tool = "echo" } = o;
  let stop = false;
  let calls = 0;
  let failures = 0;
  const sdk: Client[] = [];
  const wss: WsClient[] = [];
  for (let i = 0; i < http + sse; i++) {
    const id = `${prefix}-${i < http ? "http" : "sse"}-${i}`;
    const c = new Client({ name: id, version: "1" });
    await c.connect(i < http ? new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${id}`)) : new SSEClientTransport(new URL(`${url}/mcp/sse?client_id=${id}`)));
    sdk.push(c);
  }
  for (let i = 0; i < ws; i++) {
    const c = await WsClient.open(url, `${prefix}-ws-${i}`);
    await c.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "ws", version: "1" } });
    c.notify("notifications/initialized");
    wss.push(c);
  }
  const call = async (n: number, run: (name: string) => Promise<unknown>) => {
    const name = failEvery && n % failEvery === failEvery - 1 ? "no_such_tool" : tool;
    try {
      await run(name);
    } catch {
      failures++;
    }
    calls++;
  };
  const loops = [
    ...sdk.map(async (c, k) => {
      for (let n = 0; !stop; n++) {
        await call(n, (name) => c.callTool({ name, arguments: { message: `m${k}-${n}` } }));
        await delay(paceMs);
      }
    }),
    ...wss.map(async (c, k) => {
      for (let n = 0; !stop; n++) {
        await call(n, (name) => c.request("tools/call", { name, arguments: { message: `w${k}-${n}` } }));
        await delay(paceMs);
      }
    }),
  ];
  return {
    get calls() {
      return calls;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stop = true;
      await Promise.allSettled(loops);
      await Promise.allSettled(sdk.map((c) => c.close()));
      await Promise.allSettled(wss.map((c) => c.close()));
    },
  };
}
