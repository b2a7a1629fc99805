import { getHeapStatistics, getHeapSpaceStatistics } from "node:v8";
import { newSpaceBytes, youngGenerationCap } from "../cli/young-generation.js";
import { lagOf, type OpsContext } from "./client-diagnostics.js";

const MB = 1024 * 1024;
const mb = (n: number) => Math.round((n / MB) * 10) / 10;

/**
 * `GET /mcp/admin/memory` (the guide's `:recon_alloc.memory(:allocated)` and
 * `:recon.proc_count(:memory, 10)`): process memory, heap spaces, what the
 * connections hold (socket buffers, replay buffers), and the top connections
 * by buffered bytes.
 */
export function memoryReport(ctx: OpsContext, top = 10) {
  const m = process.memoryUsage();
  const youngCap = youngGenerationCap();
  const heap = getHeapStatistics();
  const rows: Array<{ client_id: string; session_id: string; transport: string; buffered_bytes: number; replay_bytes: number; replay_size: number; total_bytes: number }> = [];
  let buffered = 0;
  let replay = 0;
  for (const s of ctx.gateway.registry.all()) {
    const b = s.sink?.bufferedBytes?.() ?? 0;
    const r = s.hasReplay ? s.replay.bytes : 0;
    buffered += b;
    replay += r;
    rows.push({ client_id: s.clientId, session_id: s.id, transport: s.transport, buffered_bytes: b, replay_bytes: r, replay_size: s.hasReplay ? s.replay.size : 0, total_bytes: b + r });
  }
  rows.sort((a, b) => b.total_bytes - a.total_bytes);
  return {
    process: { rss_mb: mb(m.rss), heap_total_mb: mb(m.heapTotal), heap_used_mb: mb(m.heapUsed), external_mb: mb(m.external), array_buffers_mb: mb(m.arrayBuffers) },
    heap: {
      limit_mb: mb(heap.heap_size_limit),
      used_ratio: Math.round((heap.used_heap_size / heap.heap_size_limit) * 1000) / 1000,
      spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, mb(s.space_used_size)])),
      // V8's nursery and its cap (src/cli/young-generation.ts): null when not capped (embedded, or the operator sized it).
      young_generation: { size_mb: mb(newSpaceBytes()), cap_mb: youngCap === undefined ? null : mb(youngCap) },
    },
    connections: {
      sessions: ctx.gateway.registry.size,
      buffered_bytes: buffered,
      replay_bytes: replay,
      avg_bytes_per_session: ctx.gateway.registry.size ? Math.round((buffered + replay) / ctx.gateway.registry.size) : 0,
    },
    top_by_memory: rows.slice(0, top),
  };
}

/**
 * `GET /mcp/admin/queues` (the guide's `:recon.proc_count(:message_queue_len, 10)`):
 * the sessions with the longest queues (unacknowledged messages, calls in
 * flight, server requests awaiting the client) and each upstream's in-flight load.
 */
export function queuesReport(ctx: OpsContext, top = 10) {
  const rows = [];
  const now = Date.now();
  for (const s of ctx.gateway.registry.all()) {
    const pending = s.ackedSeq === 0 ? 0 : s.pendingAcks;
    const inFlight = s.inflight?.size ?? 0;
    const serverRequests = s.serverRequests?.size ?? 0;
    rows.push({ client_id: s.clientId, session_id: s.id, transport: s.transport, pending_acks: pending, in_flight: inFlight, server_requests: serverRequests, buffered_bytes: s.sink?.bufferedBytes?.() ?? 0, lag_ms: lagOf(ctx, s), queue_length: pending + inFlight + serverRequests });
  }
  rows.sort((a, b) => b.queue_length - a.queue_length || b.buffered_bytes - a.buffered_bytes);
  const upstreams = [...ctx.gateway.manager.replicas()].map((r) => ({ replica: r.spec.id, state: r.state, in_flight: r.connection?.inFlight ?? 0 }));
  const pools = ctx.gateway.resilience?.healthCheck().upstreams.map((p) => ({ upstream: p.upstream, in_use: p.in_use, waiting: p.waiting })) ?? null;
  return { top_by_queue_length: rows.slice(0, top), top_by_buffered_bytes: [...rows].sort((a, b) => b.buffered_bytes - a.buffered_bytes).slice(0, top), upstreams, pools };
}
