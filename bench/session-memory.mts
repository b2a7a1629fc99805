// Heap cost of one idle initialized Streamable HTTP session, measured in-process with forced GC:
//   node --expose-gc --import tsx bench/session-memory.mts
// (RSS deltas of a child process, as bench/run.ts reports them, include allocator slack; this is the exact figure.)
import { everythingUpstream, startTestGateway } from "../test/helpers/gateway.js";
import { Pool } from "undici";
const { gateway, url } = await startTestGateway({ upstreams: [everythingUpstream()], rate_limiting: { enabled: false } } as any);
const pool = new Pool(url, { connections: 8 });
const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "probe", version: "1" } } });
async function open(n: number) {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: 50 }, async () => {
      const r = await pool.request({ path: "/mcp?client_id=c" + Math.random().toString(36).slice(2), method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: init });
      const sid = r.headers["mcp-session-id"]; await r.body.text();
      const r2 = await pool.request({ path: "/mcp", method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sid as string }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
      await r2.body.text();
    }));
  }
}
await open(200);
const g = (globalThis as any).gc; g(); g();
const before = process.memoryUsage();
const N = 5000;
await open(N);
g(); g();
const after = process.memoryUsage();
console.log("sessions", gateway.registry.size, "heap bytes/session", Math.round((after.heapUsed - before.heapUsed) / N), "rss bytes/session", Math.round((after.rss - before.rss) / N));
await pool.close(); await gateway.close();
