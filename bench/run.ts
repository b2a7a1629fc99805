// The cross-gateway benchmark, one command: the gateway on each client transport, the upstream
// reached directly, mcp-proxy, supergateway (SSE and stateful Streamable HTTP), and nginx as a plain
// L7 proxy when installed, all against the same upstream (server-everything) and load generator.
//   node --import tsx bench/run.ts [--quick] [--duration 5] [--warmup 1] [--prewarm 3] [--concurrency 1,10,50]
//     [--targets id|proc,...] [--idle-sessions 500] [--payload-mb 5] [--repeat 1] [--json out.json] [--doc docs/benchmarks.md]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './load.js';
import { runPayload, type PayloadRow } from './payload.js';
import { MEM_TRANSPORTS } from './memory-load.js';
import { MEMORY_HEAD, memoryCells, memoryMarkdown, runMemory, type MemoryRow } from './memory.js';
import { describeSseFloor, runSseFloor, type SseFloorRow } from './sse-floor.js';
import type { FanoutRow } from './fanout.js';
import { clockTicks, cmdline, descendantPids, medianRss, sampleMany, sampleProc } from './procstat.js';
import { fmt as f, mdTable, svgLineChart, textTable } from './report.js';
import { openSessions, probe, sleep, type SessionSet } from './session.js';
import { GC_DIR, killAllNow, nginxBinary, ROOT, startShttpUpstream, startTarget, TARGET_DEFS, type Running, type TargetDef } from './targets.js';

interface Row extends Partial<LoadResult> {
  id: string;
  def: TargetDef;
  concurrency: number;
  cpuMsPerCall?: number;
  /** Proxy process CPU over the window, % of one core. */
  cpuPct?: number;
  upstreamCpuMsPerCall?: number;
  rssMB?: number;
  peakRssMB?: number;
  error?: string;
}

interface IdleRow {
  id: string;
  def: TargetDef;
  sessions: number;
  rssBeforeMB?: number;
  rssAfterMB?: number;
  bytesPerSession?: number;
  /** RSS growth of the proxy's children (e.g. one stdio server per session) per session. */
  childBytesPerSession?: number;
  /** Slope of V8 heapUsed after a forced full GC (bench/gc-preload.cjs): the retained cost. */
  heapBytesPerSession?: number;
  error?: string;
}

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    prewarm: { type: 'string' },
    concurrency: { type: 'string' },
    targets: { type: 'string' },
    'idle-sessions': { type: 'string' },
    'payload-mb': { type: 'string' },
    'fanout-upstreams': { type: 'string' },
    'memory-sessions': { type: 'string' },
    'memory-mixed': { type: 'string' },
    tool: { type: 'string', default: 'echo' },
    'call-timeout': { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
    'gateway-src': { type: 'boolean', default: false },
    json: { type: 'string' },
    doc: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(
    'usage: node --import tsx bench/run.ts [--quick] [--duration 5] [--warmup 1] [--prewarm 3] [--concurrency 1,10,50] [--targets id|proc,...]\n' +
      '         [--idle-sessions 500 (0 = skip)] [--payload-mb 5 (0 = skip)] [--fanout-upstreams 20 (0 = skip; --quick: 0)] [--tool echo] [--call-timeout 10] [--repeat 1]\n' +
      '         [--memory-sessions 2000,10000 (0 = skip)] [--memory-mixed 10000 (0 = skip)]\n' +
      '         [--gateway-src] [--json out.json] [--doc docs/benchmarks.md | --no-doc]\n' +
      `targets: ${TARGET_DEFS.map((d) => d.id).join(', ')}`,
  );
  process.exit(0);
}

const quick = flags.quick!;
const clamp = (v: number, lo: number, hi: number, name: string): number => {
  if (!Number.isFinite(v)) throw new Error(`bad --${name}`);
  return Math.min(hi, Math.max(lo, v));
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const durationMs = clamp(Number(flags.duration ?? (quick ? 1 : 5)), 0.5, 120, 'duration') * 1000;
const warmupMs = clamp(Number(flags.warmup ?? (quick ? 0.3 : 1)), 0, 30, 'warmup') * 1000;
/**
 * Traffic each fresh target gets at c = 10 before its first measured scenario. Without it the first scenario
 * (c = 1) measured a process whose JIT had not tiered up yet: the gateway's CPU per call at c = 1 was 0.62-0.71 ms
 * cold and 0.29-0.32 ms after a few seconds of traffic (same process, same load generator); every target gets it.
 */
const prewarmMs = clamp(Number(flags.prewarm ?? (quick ? 0.5 : 5)), 0, 60, 'prewarm') * 1000;
const callTimeoutMs = clamp(Number(flags['call-timeout']), 1, 60, 'call-timeout') * 1000;
const repeat = Math.round(clamp(Number(flags.repeat), 1, 10, 'repeat'));
const idleK = Math.round(clamp(Number(flags['idle-sessions'] ?? (quick ? 40 : 500)), 0, 5000, 'idle-sessions'));
const payloadMB = clamp(Number(flags['payload-mb'] ?? 5), 0, 64, 'payload-mb');
/** Fan-out scenario (bench/fanout.ts): upstreams behind one in-process gateway; not in --quick (~20 s). */
const fanoutUpstreams = Math.round(clamp(Number(flags['fanout-upstreams'] ?? (quick ? 0 : 20)), 0, 100, 'fanout-upstreams'));
/** Memory scenario (bench/memory.ts): sessions per client transport (a fresh gateway each), and the 10k + 10k one-node run. */
const memorySessions = list(flags['memory-sessions'] ?? (quick ? '300' : '2000,10000')).map((n) => Math.round(clamp(Number(n), 0, 20_000, 'memory-sessions'))).filter((n) => n > 0);
const memoryMixed = Math.round(clamp(Number(flags['memory-mixed'] ?? (quick ? 0 : 10_000)), 0, 20_000, 'memory-mixed'));
const concurrencies = list(flags.concurrency ?? (quick ? '1,10' : '1,10,50')).map((c) => Math.round(clamp(Number(c), 1, 1000, 'concurrency')));
const hasNginx = nginxBinary() !== undefined;
const wanted = flags.targets ? list(flags.targets) : undefined;
for (const w of wanted ?? []) if (!TARGET_DEFS.some((d) => d.id === w || d.proc === w)) throw new Error(`unknown target ${w} (known: ${TARGET_DEFS.map((d) => d.id).join(', ')})`);
const defs = TARGET_DEFS.filter((d) => (wanted ? wanted.includes(d.id) || wanted.includes(d.proc) : d.proc !== 'nginx' || hasNginx));
const docPath = flags['no-doc'] ? undefined : resolve(ROOT, flags.doc ?? 'docs/benchmarks.md');
/** Stateful supergateway spawns a whole stdio server per session: fewer idle sessions keep the run short. */
const idleCount = (d: TargetDef) => (d.proc === 'supergateway-shttp' ? Math.min(idleK, 20) : idleK);

// Never leave children behind: on exit, on signals, and after a global time budget.
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping children`);
    killAllNow();
    process.exit(130);
  });
const budgetMs = repeat * defs.length * (prewarmMs + concurrencies.length * (warmupMs + durationMs + callTimeoutMs + 10_000) + 40_000 + (idleK ? 60_000 : 0)) + 120_000 + memorySessions.reduce((a, n) => a + MEM_TRANSPORTS.length * (30_000 + n * 15), 0) + (memoryMixed ? 60_000 + memoryMixed * 40 : 0) + (quick ? 0 : memorySessions.reduce((a, n) => a + 20_000 + n * 5, 0)) + (fanoutUpstreams ? 60_000 + fanoutUpstreams * 2_000 : 0);
setTimeout(() => {
  console.error(`bench: global time budget (${Math.round(budgetMs / 1000)} s) exceeded, aborting`);
  killAllNow();
  process.exit(2);
}, budgetMs).unref();

const MB = 1024 * 1024;
const IDLE_STEPS = quick ? 2 : 4;
const slope = (xs: number[], ys: number[]): number => {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) (num += (xs[i]! - mx) * (ys[i]! - my)), (den += (xs[i]! - mx) ** 2);
  return den ? num / den : Number.NaN;
};

const isUpstreamProc = (p: number): boolean => cmdline(p).includes('server-everything');
/** The measured proxy: the process and its helpers (nginx workers), not the stdio upstream(s) below it. */
const proxyPids = (pid: number): number[] => [pid, ...descendantPids(pid).filter((p) => !isUpstreamProc(p))];
const childUpstreamPids = (pid: number): number[] => descendantPids(pid).filter(isUpstreamProc);

interface Up {
  r: Running;
  tool: string;
  /** The shared Streamable HTTP upstream behind it, if any (not for `direct`, which is that server). */
  upstream?: Running;
}

/** Start a target (and its Streamable HTTP upstream) and find the tool; retried briefly since an upstream may connect lazily. */
async function bringUp(def: TargetDef): Promise<Up> {
  const upstream = def.upstream === 'shttp' && def.proc !== 'direct' ? await startShttpUpstream() : undefined;
  let r: Running;
  try {
    r = await startTarget(def.proc, { gatewaySrc: flags['gateway-src'], upstreamUrl: upstream?.url('http') });
  } catch (e) {
    await upstream?.stop();
    throw e;
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return { r, upstream, tool: await probe(r.url(def.transport), def.transport, flags.tool) };
    } catch (e) {
      if (Date.now() > deadline) {
        await r.stop();
        await upstream?.stop();
        throw new Error(`probe failed: ${(e as Error).message}\n--- output tail ---\n${r.logTail()}`);
      }
      await sleep(250);
    }
  }
}

async function loadScenario(def: TargetDef, up: Up, concurrency: number): Promise<Row> {
  const { r, tool } = up;
  let mine: number[] = [], ups: number[] = [];
  let p0 = 0, p1 = 0, u0 = 0, u1 = 0, peak = 0, rss = 0;
  let rssTimer: NodeJS.Timeout | undefined;
  const load = await runLoad({
    url: r.url(def.transport), transport: def.transport, concurrency, durationMs, warmupMs, tool, callTimeoutMs,
    onMeasureStart: () => {
      // After the warm-up: stateful proxies have spawned their per-session children by now.
      mine = proxyPids(r.pid);
      ups = up.upstream ? [up.upstream.pid] : childUpstreamPids(r.pid);
      p0 = sampleMany(mine).cpuMs;
      u0 = sampleMany(ups).cpuMs;
      rssTimer = setInterval(() => (peak = Math.max(peak, sampleMany(mine).rssBytes)), 200);
    },
    onMeasureEnd: () => {
      clearInterval(rssTimer);
      const s = sampleMany(mine);
      p1 = s.cpuMs;
      rss = s.rssBytes;
      u1 = sampleMany(ups).cpuMs;
    },
  });
  const row: Row = { id: def.id, def, ...load };
  if (mine.length) {
    const cpu = p1 - p0;
    row.cpuMsPerCall = load.calls ? cpu / load.calls : undefined;
    row.cpuPct = (cpu / load.windowMs) * 100;
    row.rssMB = rss / MB;
    row.peakRssMB = Math.max(peak, rss) / MB;
  }
  if (ups.length && load.calls) row.upstreamCpuMsPerCall = (u1 - u0) / load.calls;
  return row;
}

/** Unmeasured traffic at c = 10 so the JIT of the target (and of its upstream) reaches steady state first (prewarmMs). */
async function prewarm(def: TargetDef, up: Up): Promise<void> {
  if (prewarmMs === 0) return;
  try {
    await runLoad({ url: up.r.url(def.transport), transport: def.transport, concurrency: 10, durationMs: prewarmMs, warmupMs: 0, tool: up.tool, callTimeoutMs });
  } catch {
    /* the measured scenarios report what fails */
  }
}

/** Forces a full GC in `pid` (SIGUSR2, see bench/gc-preload.cjs) and returns its heapUsed after it. */
async function heapAfterGc(pid: number): Promise<number | undefined> {
  const file = join(GC_DIR, `${pid}.json`);
  const asked = Date.now();
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  for (let i = 0; i < 60; i++) {
    await sleep(50);
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; t: number };
      if (m.t >= asked) return m.heapUsed;
    } catch {
      /* not written yet */
    }
  }
  return undefined;
}

/** Idle sessions on a warmed-up process: least-squares slope of RSS (and heap after GC) over open sessions. */
async function idleScenario(def: TargetDef, up: Up, k: number): Promise<IdleRow> {
  const { r } = up;
  const url = r.url(def.transport);
  const settle = quick ? 200 : 500;
  await sleep(settle);
  const xs: number[] = [0];
  // nginx has no V8 heap; its workers count with the master.
  const heapOf = async () => (def.proc === 'nginx' ? undefined : heapAfterGc(r.pid));
  const rssOf = async () => (def.proc === 'nginx' ? sampleMany(proxyPids(r.pid)).rssBytes : medianRss(r.pid, 5, 60));
  const heaps: Array<number | undefined> = [await heapOf()];
  const ys: number[] = [await rssOf()];
  const kids0 = sampleMany(childUpstreamPids(r.pid)).rssBytes;
  const sets: SessionSet[] = [];
  try {
    let n = 0;
    for (let step = 1; step <= IDLE_STEPS; step++) {
      const want = Math.round((k * step) / IDLE_STEPS) - Math.round((k * (step - 1)) / IDLE_STEPS);
      const set = await openSessions(url, def.transport, want, { connections: 16, timeoutMs: callTimeoutMs });
      sets.push(set);
      n += set.sessions.length;
      if (set.sessions.length < want) throw new Error(`idle sessions failed to open: ${JSON.stringify(set.initErrors)}`);
      await sleep(settle);
      xs.push(n);
      heaps.push(await heapOf());
      ys.push(await rssOf());
    }
    const kids1 = sampleMany(childUpstreamPids(r.pid)).rssBytes;
    return {
      id: def.id, def, sessions: n,
      rssBeforeMB: ys[0]! / MB, rssAfterMB: ys[ys.length - 1]! / MB,
      bytesPerSession: slope(xs, ys),
      heapBytesPerSession: heaps.every((h) => h !== undefined) ? slope(xs, heaps as number[]) : undefined,
      childBytesPerSession: def.upstream === 'stdio' ? (kids1 - kids0) / n : undefined,
    };
  } finally {
    await Promise.race([Promise.all(sets.map((s) => s.close())), sleep(5000)]);
  }
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** One row per key: numeric fields are medians over the successful runs, `errors` is summed. */
function aggregate<R extends { error?: string; errors?: number; errorKinds?: Record<string, number> }>(runs: R[], key: (r: R) => string): R[] {
  const groups = new Map<string, R[]>();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.values()].map((g) => {
    const ok = g.filter((r) => !r.error);
    if (ok.length === 0) return g[0]!;
    if (g.length === 1) return ok[0]!;
    const out: Record<string, unknown> = { ...ok[0]!, runs: g.length, failedRuns: g.length - ok.length };
    for (const [k, v] of Object.entries(ok[0]!)) {
      if (typeof v !== 'number') continue;
      const xs = ok.map((r) => (r as Record<string, unknown>)[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      out[k] = k === 'errors' ? xs.reduce((a, b) => a + b, 0) : xs.length ? median(xs) : v;
    }
    const kinds: Record<string, number> = {};
    for (const r of ok) for (const [k, n] of Object.entries(r.errorKinds ?? {})) kinds[k] = (kinds[k] ?? 0) + n;
    if (ok[0]!.errorKinds) out.errorKinds = kinds;
    return out as R;
  });
}

const errMsg = (e: unknown) => (e as Error).message.split('\n')[0]!;

// ------------------------------------------------------------------ comparisons

interface Latency {
  kind: string;
  c: number;
  proxy: Row;
  direct: Row;
  dP50?: number;
  dP99?: number;
  ratio?: number;
  met?: boolean;
}

/** The gateway vs the same upstream reached directly (stdio: the load generator on its stdin). */
function addedLatency(rows: Row[]): Latency[] {
  const pairs: Array<[string, string, string]> = [
    ['stdio', 'gateway/http', 'direct-stdio'],
    ['Streamable HTTP', 'gateway-shttp/http', 'direct'],
    ['Streamable HTTP (nginx, no MCP)', 'nginx', 'direct'],
    ['Streamable HTTP (plain Node.js proxy, no MCP)', 'node-proxy', 'direct'],
  ];
  const out: Latency[] = [];
  for (const [kind, p, d] of pairs)
    for (const c of concurrencies) {
      const proxy = rows.find((r) => r.id === p && r.concurrency === c);
      const direct = rows.find((r) => r.id === d && r.concurrency === c);
      if (!proxy || !direct || proxy.error || direct.error) continue;
      const l: Latency = { kind, c, proxy, direct, dP50: proxy.p50Ms! - direct.p50Ms!, dP99: proxy.p99Ms! - direct.p99Ms!, ratio: proxy.callsPerSec! / direct.callsPerSec! };
      if (p.startsWith('gateway') && c <= 10) l.met = l.dP50! <= 0.3 && l.dP99! <= 2 && l.ratio! >= 0.9;
      out.push(l);
    }
  return out;
}

interface CpuRatio {
  id: string;
  c: number;
  /** mcp-proxy runs a stdio upstream: the target compares proxies of the same upstream kind only. */
  upstream: string;
  cpu?: number;
  base?: number;
  ratio?: number;
}

/** CPU ms per relayed call against mcp-proxy's (same stdio upstream, same c); target <= 0.25. */
function cpuRatios(rows: Row[]): CpuRatio[] {
  const out: CpuRatio[] = [];
  for (const r of rows) {
    if (r.def.proc === 'mcp-proxy' || r.def.proc.startsWith('direct') || r.error) continue;
    const base = rows.find((x) => x.def.proc === 'mcp-proxy' && x.concurrency === r.concurrency && !x.error);
    out.push({ id: r.id, c: r.concurrency, upstream: r.def.upstream, cpu: r.cpuMsPerCall, base: base?.cpuMsPerCall, ratio: base?.cpuMsPerCall && r.cpuMsPerCall !== undefined ? r.cpuMsPerCall / base.cpuMsPerCall : undefined });
  }
  return out;
}

// ------------------------------------------------------------------------ report

function machine(): { nproc: number; memGB: number; node: string; cpu: string; load: string } {
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    /* cpus() then */
  }
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    /* not Linux */
  }
  return { nproc, memGB: totalmem() / 1024 ** 3, node: process.version, cpu: cpus()[0]?.model ?? '?', load };
}

function loadRowCells(r: Row): string[] {
  const wrong = r.errorKinds?.wrong_answer ?? 0;
  return [
    r.id, r.def.transport, r.def.upstream, String(r.concurrency), f(r.callsPerSec, 0), f(r.p50Ms, 2), f(r.p99Ms, 2),
    r.error ? 'FAILED' : String(r.errors ?? '-'), r.error ? '-' : String(wrong), f(r.cpuMsPerCall, 3), f(r.upstreamCpuMsPerCall, 3), f(r.peakRssMB, 1),
  ];
}
const LOAD_HEAD = ['target', 'transport', 'upstream', 'c', 'calls/s', 'p50 ms', 'p99 ms', 'errors', 'wrong answers', 'CPU ms/call', 'upstream CPU ms/call', 'peak RSS MB'];

function idleCells(r: IdleRow): string[] {
  return [
    r.id, r.def.transport, String(r.sessions), f(r.rssBeforeMB, 1), f(r.rssAfterMB, 1), r.error ? 'FAILED' : f(r.bytesPerSession! / 1024, 1),
    r.heapBytesPerSession === undefined ? '-' : f(r.heapBytesPerSession / 1024, 1), r.childBytesPerSession === undefined ? '-' : f(r.childBytesPerSession / 1024, 1),
  ];
}
const IDLE_HEAD = ['target', 'transport', 'sessions', 'RSS before MB', 'RSS after MB', 'RSS KiB/session', 'heap KiB/session (after GC)', 'children KiB/session'];

function latencyCells(l: Latency): string[] {
  return [
    l.kind, String(l.c), f(l.direct.callsPerSec, 0), f(l.proxy.callsPerSec, 0), `${f(l.ratio, 2)}x`, f(l.direct.p50Ms, 2), f(l.proxy.p50Ms, 2), `${l.dP50! >= 0 ? '+' : ''}${f(l.dP50, 2)}`,
    f(l.direct.p99Ms, 2), f(l.proxy.p99Ms, 2), `${l.dP99! >= 0 ? '+' : ''}${f(l.dP99, 2)}`, l.met === undefined ? '' : l.met ? 'met' : 'missed',
  ];
}
const LATENCY_HEAD = ['upstream kind', 'c', 'direct calls/s', 'proxied calls/s', 'ratio', 'direct p50', 'proxied p50', 'added p50 ms', 'direct p99', 'proxied p99', 'added p99 ms', 'target (c<=10)'];

function cpuCells(x: CpuRatio): string[] {
  return [x.id, String(x.c), f(x.cpu, 3), f(x.base, 3), x.ratio === undefined ? '-' : `${f(x.ratio, 2)}x`, !x.id.startsWith('gateway') || x.ratio === undefined ? '' : x.upstream !== 'stdio' ? 'n/a (HTTP upstream: see node-proxy)' : x.ratio <= 0.25 ? 'met' : 'missed'];
}
const CPU_HEAD = ['target', 'c', 'CPU ms/call', 'mcp-proxy CPU ms/call', 'ratio', 'target <= 0.25x'];

function payloadCells(p: PayloadRow): string[] {
  return [
    p.transport, f(p.payloadMB, 1), p.error ? 'FAILED' : f(p.relayMs, 0), f(p.cpuMsPerMB, 1), f(p.rssGrowthMB, 1), f(p.rssGrowthMB === undefined ? undefined : p.rssGrowthMB / p.payloadMB, 2),
    f(p.otherMaxMs, 1), `${f(p.gatewayLoopMaxMs, 0)} (idle ${f(p.gatewayLoopIdleMaxMs, 0)})`, f(p.otherBaselineP50Ms, 2), String(p.otherCalls ?? '-'), p.error ? p.error : p.met ? 'met' : 'missed',
  ];
}
const PAYLOAD_HEAD = ['client transport', 'payload MB', 'relay ms', 'gateway CPU ms/MB', 'peak RSS growth MB', 'growth / payload', 'other client max ms', 'gateway event-loop max ms (idle)', 'other client p50 ms (idle)', 'other calls', 'target (<= 3x, <= 50 ms)'];

function writeDoc(path: string, rows: Row[], idle: IdleRow[], lat: Latency[], cpu: CpuRatio[], payload: PayloadRow[], wallS: number, memory: MemoryRow[] = [], sseFloor: SseFloorRow[] = [], fanoutMd = ''): void {
  const m = machine();
  const chartDir = join(dirname(path), 'benchmarks');
  mkdirSync(chartDir, { recursive: true });
  const ids = [...new Set(rows.map((r) => r.id))];
  const series = (get: (r: Row) => number | undefined) =>
    ids.map((id) => ({ label: id, values: concurrencies.map((c) => { const r = rows.find((x) => x.id === id && x.concurrency === c); return r && !r.error ? get(r) : undefined; }) }));
  writeFileSync(join(chartDir, 'calls-per-sec.svg'), svgLineChart({ title: 'calls/s vs concurrency', xLabel: 'concurrent sessions', yLabel: 'calls/s', xs: concurrencies.map(String), series: series((r) => r.callsPerSec) }));
  writeFileSync(join(chartDir, 'p99.svg'), svgLineChart({ title: 'p99 latency vs concurrency', xLabel: 'concurrent sessions', yLabel: 'p99 ms (log)', xs: concurrencies.map(String), series: series((r) => r.p99Ms), logY: true }));
  writeFileSync(join(chartDir, 'cpu-per-call.svg'), svgLineChart({ title: 'proxy CPU ms per call vs concurrency', xLabel: 'concurrent sessions', yLabel: 'CPU ms/call (log)', xs: concurrencies.map(String), series: series((r) => r.cpuMsPerCall), logY: true }));
  const rel = (p: string) => relative(dirname(path), p);
  const cmd = quick ? 'npm run bench -- --quick' : 'npm run bench';
  const doc = `# Benchmarks

Generated by \`${cmd}\` (bench/run.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round(wallS)} s. Do not edit by hand: re-run the bench.

**Machine:** ${m.nproc} CPU(s) (\`nproc\`; ${m.cpu}), ${m.memGB.toFixed(1)} GB memory, Node ${m.node}, load average at the end ${m.load || '?'}.
The machine is shared and was noisy during this run (other builds and test suites on the same cores), so absolute
figures move between runs; **ratios within one run are what count** (every target ran in the same period,
back to back, against the same upstream and load generator).

## Method

- **Upstream:** \`@modelcontextprotocol/server-everything\`, tool \`echo\`. Behind the gateway's stdio path, mcp-proxy and
  supergateway it is a stdio child of the proxy; behind \`gateway-shttp\`, nginx and \`node-proxy\` it is one separate
  \`server-everything streamableHttp\` process, which is also the \`direct\` target. \`direct-stdio\` is the load generator
  writing to a server-everything's stdin itself (no proxy at all): the baseline of the stdio kind.
- **Load generator** (bench/load.ts, same process for every target): N sessions (N = concurrency), each initialized, each
  calling \`echo\` back to back for ${warmupMs / 1000} s of warm-up and ${durationMs / 1000} s measured, one call in flight per session. Each fresh
  target first gets ${prewarmMs / 1000} s of unmeasured calls at c = 10, so its JIT (and its upstream's) is in steady state before the first
  scenario (c = 1 otherwise measured code still being compiled: the gateway's CPU per call at c = 1 halved after it). Client
  transports: Streamable HTTP (\`http\`), legacy HTTP+SSE (\`sse\`), WebSocket (\`ws\`), stdio.
- **Every answer is checked:** each call sends its own text (\`<id>\`, unique across sessions) and the reply must bring it
  back; anything else (another session's answer, a JSON-RPC error, \`isError\`) is an error, and a mismatched text is also
  counted under *wrong answers*. The bench exits non-zero when a scenario failed, or when the gateway or a baseline
  (direct, nginx) answered wrong; a peer's (mcp-proxy, supergateway) errors and wrong answers are reported here.
- **CPU ms/call:** CPU time (utime+stime from /proc) of the proxy process and its helpers (nginx workers), not of the
  upstream, over the window / completed calls. For \`direct\` targets it is the server itself. *upstream CPU ms/call* is the
  upstream's (stdio children, or the separate Streamable HTTP server).
- **RSS per idle session:** on the warmed-up process, ${idleK} initialized sessions (${Math.min(idleK, 20)} for stateful supergateway, which spawns
  a stdio server per session) opened in ${IDLE_STEPS} batches and left idle; least-squares slope of RSS over sessions. *children* is
  the RSS growth of the proxy's child processes per session.
- **Large payloads:** one ${payloadMB || 5} MB \`tools/call\` result relayed by the gateway on each client transport while another
  client keeps calling \`echo\`; peak RSS growth of the gateway (sampled every 10 ms), its CPU per MB, and the other
  client's slowest call during the transfer (an event-loop stall shows there).
- **Fan-out:** ${fanoutUpstreams || 20} stdio SDK servers behind one gateway, cold start with all healthy, one stalled and one
  silent: time to the first full list, a client's \`tools/list\`, and every healthy upstream's tool called at once.
- **Memory per idle session:** bench/memory.ts, a fresh gateway per client transport (below).

## Results

![calls/s vs concurrency](${rel(join(chartDir, 'calls-per-sec.svg'))})
![p99 vs concurrency](${rel(join(chartDir, 'p99.svg'))})
![CPU per call](${rel(join(chartDir, 'cpu-per-call.svg'))})

### Load

${mdTable(LOAD_HEAD, rows.map(loadRowCells))}
${rows.filter((r) => r.error || (r.errors ?? 0) > 0).map((r) => `\n- ${r.id} c=${r.concurrency}: ${r.error ?? JSON.stringify(r.errorKinds)}`).join('')}

### Added latency: the gateway vs the same upstream direct

Targets (c = 1 and 10): at most +0.3 ms p50, +2 ms p99, and at least 0.9x the direct calls/s.

${mdTable(LATENCY_HEAD, lat.map(latencyCells))}

### CPU per relayed call vs mcp-proxy (target at most 0.25x), beside nginx and a plain Node.js proxy

${mdTable(CPU_HEAD, cpu.map(cpuCells))}

nginx (a plain L7 proxy with no MCP semantics, in front of the Streamable HTTP upstream) is the floor for a proxy's CPU;
\`node-proxy\` (bench/node-proxy.mjs: node:http and an undici pool, the response streamed through, nothing else) is the
floor for any proxy written for Node.js. Compare both with \`gateway-shttp/http\`, which relays the same upstream.

### RSS per idle session

${idle.length ? mdTable(IDLE_HEAD, idle.map(idleCells)) : '(skipped: --idle-sessions 0)'}

### Fan-out (bench/fanout.ts)

${fanoutUpstreams} stdio upstreams (test/fixtures/fanout-server.mjs, real SDK servers) behind one gateway from \`src/\` in the bench's
process, started cold three times: all healthy, the last one never answers its lists (handshakes, then silence), the
last one never answers at all; first the same children spawned and listed directly by SDK clients (the floor).
*first full list*: start to listening with every upstream's first lists settled (\`routing.list_timeout\` 1 s bounds a
stalled upstream's lists, \`routing.startup_timeout\` 10 s one still handshaking; ADR 0210). Then a client's
\`tools/list\` (must hold every healthy upstream's three tools) and every healthy upstream's tool called at once (each must
answer its own text). Target: the list answers within \`routing.list_timeout\` with the healthy upstreams' tools, and
their calls are unaffected.

${fanoutMd || '(skipped: --fanout-upstreams 0)'}

### Large payloads

${payload.length ? mdTable(PAYLOAD_HEAD, payload.map(payloadCells)) : '(skipped: --payload-mb 0)'}

### Memory per idle session (bench/memory.ts)

A fresh gateway per client transport (stdio upstream; caps raised: session.max_sessions, per-client caps,
server.max_connections, rate limiting off, websocket.idle_timeout 1 h), N initialized sessions held open by a
raw-socket generator in its own process (each holding its stream: HTTP+SSE, WebSocket, Phoenix, Streamable HTTP
GET; \`http\` holds none), least-squares slope of RSS and of heap after a full GC over open sessions; then every
session calls \`echo\` and must get its own text back. \`mixed\`: N stream-holding sessions (split over the four
stream kinds) plus N stream-less ones on one gateway. *new space MB*: the largest young generation (V8 new space,
resident) seen at a step, before a GC; the gateway caps it at 4 MB (src/cli/young-generation.ts). Targets: <= 8 KB
RSS per stream-holding session, mixed under 200 MB, start-up <= 60 MB. See docs/adr/0200-memory-per-idle-session.md.

${memory.length ? memoryMarkdown(memory) : '(skipped: --memory-sessions 0 --memory-mixed 0)'}
${sseFloor.length ? `\nThe floor under the \`sse\` and \`http-get\` rows (bench/sse-floor.ts: a bare node:http server, no MCP, holding idle SSE\nresponses with the gateway's headers):\n\n${sseFloor.map((f) => `- ${describeSseFloor(f)}`).join('\n')}\n` : ''}`;
  writeFileSync(path, doc);
  console.log(`\nwrote ${relative(ROOT, path)} and ${relative(ROOT, chartDir)}/*.svg`);
}

/** Newest mtime under a directory (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The gateway runs from dist/: rebuild it only when src/ changed since (a build takes minutes on a busy box). */
function ensureBuild(): void {
  if (flags['gateway-src'] || !defs.some((d) => d.proc === 'gateway')) return;
  const bin = join(ROOT, 'dist', 'cli', 'main.js');
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest(join(ROOT, 'src'))) return;
  console.log('bench: dist/ is older than src/, building (npm run build) ...');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Returns false when the run must exit non-zero. */
async function main(): Promise<boolean> {
  const t0 = Date.now();
  ensureBuild();
  const m = machine();
  console.log(
    `bench: node ${m.node}, ${m.nproc} cpu(s), load ${m.load}, CLK_TCK ${clockTicks()}, ${durationMs / 1000}s + ${warmupMs / 1000}s warmup per scenario after ${prewarmMs / 1000}s of c=10 per target, c=${concurrencies.join(',')}${hasNginx ? '' : ' (nginx not installed: skipped)'}`,
  );
  const rawRows: Row[] = [];
  const rawIdle: IdleRow[] = [];
  // One process per target and repeat: every concurrency, then the idle sessions. Repeats are
  // interleaved (round robin over the targets) so that a noisy period hits every target.
  for (let rep = 1; rep <= repeat; rep++) {
    const tag = repeat > 1 ? ` [${rep}/${repeat}]` : '';
    for (const def of defs) {
      let up: Up;
      try {
        up = await bringUp(def);
      } catch (e) {
        console.error(`  ! ${def.id}: ${errMsg(e)}`);
        for (const c of concurrencies) rawRows.push({ id: def.id, def, concurrency: c, error: errMsg(e) });
        continue;
      }
      try {
        await prewarm(def, up);
        for (const c of concurrencies) {
          process.stdout.write(`  ${def.id} c=${c}${tag} ... `);
          let row: Row;
          try {
            row = await loadScenario(def, up, c);
          } catch (e) {
            row = { id: def.id, def, concurrency: c, error: errMsg(e) };
          }
          rawRows.push(row);
          console.log(row.error ? `failed: ${row.error}` : `${f(row.callsPerSec, 0)} calls/s, p99 ${f(row.p99Ms, 1)} ms, ${f(row.cpuMsPerCall, 3)} cpu ms/call${row.errors ? `, ${row.errors} errors` : ''}`);
        }
        if (idleK > 0 && def.transport !== 'stdio') {
          process.stdout.write(`  idle ${def.id} x${idleCount(def)}${tag} ... `);
          let row: IdleRow;
          try {
            row = await idleScenario(def, up, idleCount(def));
          } catch (e) {
            row = { id: def.id, def, sessions: 0, error: errMsg(e) };
          }
          rawIdle.push(row);
          console.log(row.error ? `failed: ${row.error}` : `${f(row.bytesPerSession! / 1024, 1)} KiB/session`);
        }
      } finally {
        await up.r.stop();
        await up.upstream?.stop();
      }
    }
  }
  const rows = aggregate(rawRows, (r) => `${r.id}|${r.concurrency}`);
  const idle = aggregate(rawIdle, (r) => r.id);
  const payload: PayloadRow[] = [];
  if (payloadMB > 0 && defs.some((d) => d.proc === 'gateway')) {
    // --quick: the Streamable HTTP client transport only (one more gateway start instead of three).
    for (const t of quick ? (['http'] as const) : (['http', 'sse', 'ws', 'phx'] as const)) {
      process.stdout.write(`  payload ${payloadMB} MB over ${t} ... `);
      const p = await runPayload({ transport: t, payloadMB, gatewaySrc: flags['gateway-src'] }).catch((e: unknown) => ({ transport: t, payloadMB, error: errMsg(e) }) as PayloadRow);
      payload.push(p);
      console.log(p.error ? `failed: ${p.error}` : `${f(p.relayMs, 0)} ms, RSS +${f(p.rssGrowthMB, 1)} MB, ${f(p.cpuMsPerMB, 1)} CPU ms/MB, other client max ${f(p.otherMaxMs, 1)} ms`);
    }
  }
  let memory: MemoryRow[] = [];
  const sseFloor: SseFloorRow[] = [];
  if ((memorySessions.length > 0 || memoryMixed > 0) && defs.some((d) => d.proc === 'gateway')) {
    // --quick: one gateway for every transport (bench/memory.ts measureShared), to stay under two minutes.
    memory = await runMemory({ sessions: memorySessions, transports: [...MEM_TRANSPORTS], mixed: memoryMixed, fromSrc: flags['gateway-src'], shared: quick, log: (s) => process.stdout.write(s) });
    // The floor under the SSE and GET-stream rows (not in --quick: ~30 s at 10,000).
    if (!quick) for (const n of memorySessions) sseFloor.push(await runSseFloor(n).catch((e: unknown) => ({ connections: n, capped: true, beforeMB: 0, afterMB: 0, kbPerConnection: Number.NaN, error: errMsg(e) })));
  }
  if (repeat > 1) console.log(`\nmedians of ${repeat} runs (errors: sum)`);
  console.log('\n' + textTable(LOAD_HEAD, rows.map(loadRowCells)));
  for (const r of rows) if (r.error || (r.errors ?? 0) > 0) console.log(`  ${r.id} c=${r.concurrency}: ${r.error ?? JSON.stringify(r.errorKinds)}`);
  const lat = addedLatency(rows);
  if (lat.length) console.log('\nadded latency (proxied vs direct)\n' + textTable(LATENCY_HEAD, lat.map(latencyCells)));
  const cpu = cpuRatios(rows);
  if (cpu.some((x) => x.base !== undefined)) console.log('\nCPU per call vs mcp-proxy\n' + textTable(CPU_HEAD, cpu.map(cpuCells)));
  if (idle.length) console.log('\n' + textTable(IDLE_HEAD, idle.map(idleCells)));
  if (payload.length) console.log('\n' + textTable(PAYLOAD_HEAD, payload.map(payloadCells)));
  let fanout: FanoutRow[] = [];
  let fanoutMd = '';
  if (fanoutUpstreams > 0 && defs.some((d) => d.proc === 'gateway')) {
    // Imported here: it runs a gateway from src/ in this process, which nothing else in the bench needs.
    const f = await import('./fanout.js');
    fanout = await f.runFanout(fanoutUpstreams, (s) => process.stdout.write(s));
    fanoutMd = mdTable(f.FANOUT_HEAD, fanout.map(f.fanoutCells));
  }
  if (memory.length) console.log('\nmemory per idle session\n' + textTable(MEMORY_HEAD, memory.map(memoryCells)));
  for (const f of sseFloor) console.log(describeSseFloor(f));
  if (rows.some((r) => (r.genCpuPct ?? 0) > 85)) console.log('\nnote: the load generator used > 85% of a core in some scenario; calls/s there is generator-bound.');

  const wallS = (Date.now() - t0) / 1000;
  console.log(`\nbench: ${Math.round(wallS)} s`);
  if (docPath) writeDoc(docPath, rows, idle, lat, cpu, payload, wallS, memory, sseFloor, fanoutMd);
  if (flags.json) {
    const meta = { ...m, date: new Date().toISOString(), durationMs, warmupMs, prewarmMs, concurrencies, targets: defs.map((d) => d.id), idleSessions: idleK, repeat, quick };
    const strip = <T extends { def: TargetDef }>(r: T) => ({ ...r, def: undefined, transport: r.def.transport, upstream: r.def.upstream });
    writeFileSync(flags.json, JSON.stringify({ meta, results: rows.map(strip), idle: idle.map(strip), latency: lat.map((l) => ({ ...l, proxy: l.proxy.id, direct: l.direct.id })), cpu, payload, memory, fanout, runs: { results: rawRows.map(strip), idle: rawIdle.map(strip) } }, null, 2));
    console.log(`wrote ${flags.json}`);
  }
  // Ours (gateway and baselines) must not fail or answer wrong; a peer's failures are data.
  const ours = (d: TargetDef) => !d.peer;
  const bad = [
    ...rawRows.filter((r) => ours(r.def) && (r.error || (r.errors ?? 0) > 0)).map((r) => `${r.id} c=${r.concurrency}: ${r.error ?? JSON.stringify(r.errorKinds)}`),
    ...rawIdle.filter((r) => ours(r.def) && r.error).map((r) => `idle ${r.id}: ${r.error}`),
    ...payload.filter((p) => p.error).map((p) => `payload ${p.transport}: ${p.error}`),
    ...memory.filter((r) => r.error).map((r) => `memory ${r.transport} x${r.sessions}: ${r.error}`),
    ...fanout.filter((r) => !r.ok).map((r) => `fan-out ${r.scenario}: ${r.error ?? 'wrong list or answer'}`),
  ];
  if (bad.length) console.error(`\nbench: FAILED\n  ${bad.join('\n  ')}`);
  return bad.length === 0;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e: unknown) => {
    console.error(e);
    killAllNow();
    process.exit(1);
  },
);
