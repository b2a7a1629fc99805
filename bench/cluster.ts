// Cluster bench: calls/s of one gateway node vs two nodes sharing a Redis, and the latency a
// cross-node hop (a request landing on the node that does not own its session, forwarded over Redis
// pub/sub) adds. Upstream: server-everything over stdio (tool echo), rate limiting on (Redis store,
// limit out of reach) so the shared counter's cost is included, logs at warn.
//
//   node --import tsx bench/cluster.ts [--duration 5] [--concurrency 20] [--hop-calls 2000] [--redis redis://127.0.0.1:6379] [--rate-limit on|off] [--repeat 3]
//
// Everything runs on this machine (nodes, upstream children, Redis and the load generator share
// its cores), so "two nodes" measures what a second process on the same host buys, not a second host.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { Pool } from 'undici';
import { Histogram, runLoad, probe, type LoadResult } from './load.js';
import { freePort, ROOT } from './targets.js';

const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const children: ChildProcess[] = [];
/** --rate-limit off: leave the (Redis-backed in cluster mode) rate limiter out, to isolate the cluster's own cost. */
let rateLimit = true;
const tmp = mkdtempSync(join(tmpdir(), 'mcpgw-bench-cluster-'));
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** Starts a gateway node; `redis` undefined: embedded mode (no cluster). */
async function startNode(name: string, redis: string | undefined, prefix: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = join(tmp, `${name}.yaml`);
  const config: Record<string, unknown> = {
    profile: 'dev',
    logging: { level: 'warn', dir: '', stdout: true },
    log_connections: false,
    rate_limiting: { enabled: rateLimit, default_limit: 1_000_000_000 },
    server: { max_connections_per_client: 100_000 },
    backpressure: { medium_pending: 1_000_000, high_pending: 2_000_000 },
    upstreams: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] }],
  };
  if (redis) config.cluster = { redis_url: redis, key_prefix: prefix, node_id: name };
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--config', file, '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited`);
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Sums parallel runs (one per node) into one figure. */
function combine(runs: LoadResult[]): { callsPerSec: number; p50Ms: number; p99Ms: number; errors: number } {
  return {
    callsPerSec: runs.reduce((a, r) => a + r.callsPerSec, 0),
    p50Ms: Math.max(...runs.map((r) => r.p50Ms)),
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}

/** A session initialized on `owner`. */
async function session(owner: string): Promise<string> {
  const init = await fetch(`${owner}/mcp?client_id=hop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hop', version: '1' } } }),
  });
  await init.text();
  return init.headers.get('mcp-session-id')!;
}

let hopId = 0;
/** Sequential echo calls on session `sid`, sent to `target` (its owner or another node), into `h` (after 20 unmeasured). */
async function hop(sid: string, target: string, tool: string, calls: number, h: Histogram): Promise<void> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  const pool = new Pool(new URL(target).origin, { connections: 1 });
  const send = async () => {
    const r = await pool.request({ method: 'POST', path: '/mcp', headers, body: JSON.stringify({ jsonrpc: '2.0', id: ++hopId, method: 'tools/call', params: { name: tool, arguments: { message: 'hello' } } }) });
    const text = await r.body.text();
    if (r.statusCode !== 200 || !text.includes('"content"')) throw new Error(`hop call failed: ${r.statusCode} ${text.slice(0, 200)}`);
  };
  for (let i = 0; i < 20; i++) await send();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await send();
    h.record(performance.now() - t);
  }
  await pool.close();
}

/** probe(), retried while the upstream's tool list is still loading (bounded: 40 x 250 ms). */
async function probeUntil(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      return await probe(url, 'http', 'echo');
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw last;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '20' },
      'hop-calls': { type: 'string', default: '2000' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      'rate-limit': { type: 'string', default: 'on' },
      repeat: { type: 'string', default: '3' },
    },
  });
  rateLimit = values['rate-limit'] !== 'off';
  const repeat = Math.max(1, Number(values.repeat));
  const durationMs = Number(values.duration) * 1000;
  const concurrency = Number(values.concurrency);
  const redisUrl = values.redis!;
  const prefix = `mcpgw-bench:${randomBytes(4).toString('hex')}`;
  const out: Record<string, unknown> = { cores: cpus().length, concurrency, duration_s: durationMs / 1000, rate_limit: rateLimit };
  try {
    // 0. Reference: one node, embedded mode (no Redis at all).
    const solo = await startNode('embedded', undefined, prefix);
    const tool = await probeUntil(`${solo.url}/mcp`);
    const embedded: number[] = [];
    for (let i = 0; i < repeat; i++) embedded.push((await runLoad({ url: `${solo.url}/mcp`, transport: 'http', concurrency, durationMs, tool })).callsPerSec);
    await stop(solo.child);

    // 1 and 2. One cluster node vs two (the same total concurrency split between them, as a load
    // balancer would), alternated `repeat` times so drift in the machine's load hits both alike.
    const a = await startNode('bench-a', redisUrl, prefix);
    const b = await startNode('bench-b', redisUrl, prefix);
    const half = Math.max(1, Math.floor(concurrency / 2));
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < repeat; i++) {
      one.push((await runLoad({ url: `${a.url}/mcp`, transport: 'http', concurrency, durationMs, tool })).callsPerSec);
      const pair = await Promise.all([
        runLoad({ url: `${a.url}/mcp`, transport: 'http', concurrency: half, durationMs, tool }),
        runLoad({ url: `${b.url}/mcp`, transport: 'http', concurrency: concurrency - half, durationMs, tool }),
      ]);
      two.push(combine(pair).callsPerSec);
    }
    out.embedded_1_node_calls_per_s = { median: median(embedded), runs: embedded };
    out.cluster_1_node_calls_per_s = { median: median(one), runs: one };
    out.cluster_2_nodes_calls_per_s = { median: median(two), runs: two };
    out.two_vs_one = median(two) / median(one);

    // 3. The cross-node hop: one session (owned by A) called on A and through B, in alternating
    // blocks, sequentially (one call at a time: latency, not throughput).
    const calls = Number(values['hop-calls']);
    const onOwner = new Histogram();
    const viaOther = new Histogram();
    const blocks = 10;
    const ownerSession = await session(a.url);
    for (let i = 0; i < blocks; i++) {
      await hop(ownerSession, a.url, tool, Math.ceil(calls / blocks), onOwner);
      await hop(ownerSession, b.url, tool, Math.ceil(calls / blocks), viaOther);
    }
    const fig = (h: Histogram) => ({ meanMs: h.sum / h.n, p50Ms: h.percentile(50), p90Ms: h.percentile(90), p99Ms: h.percentile(99) });
    out.hop = { calls_each: onOwner.n, on_owner: fig(onOwner), via_other_node: fig(viaOther), extra_p50_ms: viaOther.percentile(50) - onOwner.percentile(50), extra_mean_ms: viaOther.sum / viaOther.n - onOwner.sum / onOwner.n };
    await Promise.all([stop(a.child), stop(b.child)]);
  } finally {
    const r = new Redis(redisUrl);
    let cursor = '0';
    for (let i = 0; i < 1000; i++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await r.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    r.disconnect();
  }
  console.log(JSON.stringify(out, (_k, v) => (typeof v === 'number' ? round(v) : v), 2));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  },
);
