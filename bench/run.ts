// Comparison runner: gateway vs direct (no proxy) vs mcp-proxy, same stdio upstream (server-everything).
//   node --import tsx bench/run.ts [--duration 5] [--warmup 1] [--concurrency 1,10,50]
//     [--targets gateway,direct,mcp-proxy] [--transport http|ws|http,ws] [--idle-sessions 500] [--repeat 1] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runLoad, type LoadResult } from './load.js';
import { clockTicks, cmdline, descendantPids, medianRss, sampleMany, sampleProc, type ProcSample } from './procstat.js';
import { openSessions, probe, sleep, type SessionSet, type Transport } from './session.js';
import { GC_DIR, killAllNow, startTarget, supports, TARGETS, type Running, type TargetName } from './targets.js';

interface Row extends Partial<LoadResult> {
  target: TargetName;
  transport: Transport;
  concurrency: number;
  tool?: string;
  cpuMsPerCall?: number;
  /** Proxy process CPU over the window, % of one core. */
  cpuPct?: number;
  upstreamCpuMsPerCall?: number;
  upstreamPids?: number;
  rssMB?: number;
  peakRssMB?: number;
  error?: string;
}

interface IdleRow {
  target: TargetName;
  transport: Transport;
  sessions: number;
  rssBeforeMB?: number;
  rssAfterMB?: number;
  bytesPerSession?: number;
  upstreamBytesPerSession?: number;
  /** Slope of V8 heapUsed after a forced full GC (bench/gc-preload.cjs): the retained cost. */
  heapBytesPerSession?: number;
  error?: string;
}

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,10,50' },
    targets: { type: 'string', default: TARGETS.join(',') },
    transport: { type: 'string', default: 'http' },
    'idle-sessions': { type: 'string', default: '500' },
    tool: { type: 'string', default: 'echo' },
    'call-timeout': { type: 'string', default: '10' },
    repeat: { type: 'string', default: '1' },
    'gateway-src': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(
    'usage: node --import tsx bench/run.ts [--duration 5] [--warmup 1] [--concurrency 1,10,50] [--targets gateway,direct,mcp-proxy]\n' +
      '         [--transport http|ws|http,ws] [--idle-sessions 500 (0 = skip)] [--tool echo] [--call-timeout 10] [--repeat 1] [--gateway-src] [--json out.json]',
  );
  process.exit(0);
}

const clamp = (v: number, lo: number, hi: number, name: string): number => {
  if (!Number.isFinite(v)) throw new Error(`bad --${name}`);
  return Math.min(hi, Math.max(lo, v));
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const durationMs = clamp(Number(flags.duration), 0.5, 120, 'duration') * 1000;
const warmupMs = clamp(Number(flags.warmup), 0, 30, 'warmup') * 1000;
const callTimeoutMs = clamp(Number(flags['call-timeout']), 1, 60, 'call-timeout') * 1000;
const repeat = Math.round(clamp(Number(flags.repeat), 1, 10, 'repeat'));
const idleK = Math.round(clamp(Number(flags['idle-sessions']), 0, 5000, 'idle-sessions'));
const concurrencies = list(flags.concurrency!).map((c) => Math.round(clamp(Number(c), 1, 1000, 'concurrency')));
const targets = list(flags.targets!) as TargetName[];
const transports = list(flags.transport!) as Transport[];
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (known: ${TARGETS.join(', ')})`);
for (const t of transports) if (t !== 'http' && t !== 'ws') throw new Error(`unknown transport ${t}`);

// Never leave children behind: on exit, on signals, and after a global time budget.
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping children`);
    killAllNow();
    process.exit(130);
  });
const scenarios = transports.length * concurrencies.length * targets.length;
const budgetMs = repeat * (scenarios * (warmupMs + durationMs + callTimeoutMs + 40_000) + (idleK ? transports.length * targets.length * 60_000 : 0));
setTimeout(() => {
  console.error(`bench: global time budget (${Math.round(budgetMs / 1000)} s) exceeded, aborting`);
  killAllNow();
  process.exit(2);
}, budgetMs).unref();

const MB = 1024 * 1024;
const IDLE_STEPS = 4;
const slope = (xs: number[], ys: number[]): number => {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) (num += (xs[i]! - mx) * (ys[i]! - my)), (den += (xs[i]! - mx) ** 2);
  return den ? num / den : Number.NaN;
};
const unavailable = new Map<TargetName, string>();

/** The stdio upstream(s) below a proxy (not e.g. the esbuild helper of tsx under --gateway-src). */
const upstreamPids = (pid: number): number[] => descendantPids(pid).filter((p) => cmdline(p).includes('server-everything'));

/** Start a target and find the tool; retried briefly since an upstream may connect lazily. */
async function bringUp(name: TargetName, t: Transport): Promise<{ r: Running; tool: string }> {
  const r = await startTarget(name, { gatewaySrc: flags['gateway-src'] });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return { r, tool: await probe(r.url(t), t, flags.tool) };
    } catch (e) {
      if (Date.now() > deadline) {
        await r.stop();
        throw new Error(`probe failed: ${(e as Error).message}\n--- output tail ---\n${r.logTail()}`);
      }
      await sleep(250);
    }
  }
}

async function loadScenario(name: TargetName, t: Transport, concurrency: number): Promise<Row> {
  const { r, tool } = await bringUp(name, t);
  try {
    const ups = upstreamPids(r.pid);
    let p0: ProcSample | undefined, p1: ProcSample | undefined;
    let u0 = 0, u1 = 0, peak = 0;
    let rssTimer: NodeJS.Timeout | undefined;
    const load = await runLoad({
      url: r.url(t), transport: t, concurrency, durationMs, warmupMs, tool, callTimeoutMs,
      onMeasureStart: () => {
        p0 = sampleProc(r.pid);
        u0 = sampleMany(ups).cpuMs;
        rssTimer = setInterval(() => (peak = Math.max(peak, sampleProc(r.pid)?.rssBytes ?? 0)), 200);
      },
      onMeasureEnd: () => {
        clearInterval(rssTimer);
        p1 = sampleProc(r.pid);
        u1 = sampleMany(ups).cpuMs;
      },
    });
    const row: Row = { target: name, tool, ...load, upstreamPids: ups.length };
    if (p0 && p1) {
      const cpu = p1.cpuMs - p0.cpuMs;
      row.cpuMsPerCall = load.calls ? cpu / load.calls : undefined;
      row.cpuPct = (cpu / load.windowMs) * 100;
      row.rssMB = p1.rssBytes / MB;
      row.peakRssMB = Math.max(peak, p1.rssBytes) / MB;
    }
    if (ups.length && load.calls) row.upstreamCpuMsPerCall = (u1 - u0) / load.calls;
    return row;
  } finally {
    await r.stop();
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

async function idleScenario(name: TargetName, t: Transport, k: number): Promise<IdleRow> {
  const { r, tool } = await bringUp(name, t);
  try {
    // Warm the code paths (lazy imports, JIT) so that the baseline is not artificially low.
    await runLoad({ url: r.url(t), transport: t, concurrency: 4, durationMs: 500, warmupMs: 0, tool, callTimeoutMs });
    await sleep(500);
    const ups = upstreamPids(r.pid);
    // Open the sessions in IDLE_STEPS batches; RSS (median of 5 samples) after each settle; the
    // least-squares slope of RSS over session count is less noisy than one before/after delta.
    const xs: number[] = [0];
    const heaps: Array<number | undefined> = [await heapAfterGc(r.pid)];
    const ys: number[] = [await medianRss(r.pid, 5, 100)];
    const upBefore = sampleMany(ups).rssBytes;
    const sets: SessionSet[] = [];
    try {
      let n = 0;
      for (let step = 1; step <= IDLE_STEPS; step++) {
        const want = Math.round((k * step) / IDLE_STEPS) - Math.round((k * (step - 1)) / IDLE_STEPS);
        const set = await openSessions(r.url(t), t, want, { connections: 16, timeoutMs: callTimeoutMs });
        sets.push(set);
        n += set.sessions.length;
        if (set.sessions.length < want) throw new Error(`idle sessions failed to open: ${JSON.stringify(set.initErrors)}`);
        await sleep(500);
        xs.push(n);
        heaps.push(await heapAfterGc(r.pid));
        ys.push(await medianRss(r.pid, 5, 100));
      }
      const upAfter = sampleMany(ups).rssBytes;
      return {
        target: name, transport: t, sessions: n,
        rssBeforeMB: ys[0]! / MB, rssAfterMB: ys[ys.length - 1]! / MB,
        bytesPerSession: slope(xs, ys),
        heapBytesPerSession: heaps.every((h) => h !== undefined) ? slope(xs, heaps as number[]) : undefined,
        upstreamBytesPerSession: ups.length ? (upAfter - upBefore) / n : undefined,
      };
    } finally {
      await Promise.race([Promise.all(sets.map((s) => s.close())), sleep(5000)]);
    }
  } finally {
    await r.stop();
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

async function guarded<R extends { error?: string }>(name: TargetName, fallback: R, fn: () => Promise<R>): Promise<R> {
  const why = unavailable.get(name);
  if (why) return { ...fallback, error: why };
  try {
    return await fn();
  } catch (e) {
    const msg = (e as Error).message;
    console.error(`  ! ${name}: ${msg}`);
    // A target that cannot start is skipped for the rest of the run.
    if (/not ready|probe failed/.test(msg)) unavailable.set(name, msg.split('\n')[0]!);
    return { ...fallback, error: msg.split('\n')[0] };
  }
}

const f = (v: number | undefined, d: number) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
const table = (head: string[], rows: string[][]) => {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
};

/** Returns false when some scenario failed (exit code 1). */
async function main(): Promise<boolean> {
  console.log(
    `bench: node ${process.version}, ${cpus().length} cpu(s), CLK_TCK ${clockTicks()}, ${durationMs / 1000}s + ${warmupMs / 1000}s warmup per scenario`,
  );
  // Repeats are interleaved (round robin over all scenarios) so that a noisy period hits every target.
  const rawRows: Row[] = [];
  const rawIdle: IdleRow[] = [];
  for (let rep = 1; rep <= repeat; rep++) {
    const tag = repeat > 1 ? ` [${rep}/${repeat}]` : '';
    for (const t of transports)
      for (const c of concurrencies)
        for (const name of targets) {
          if (!supports(name, t)) continue;
          process.stdout.write(`  ${name} ${t} c=${c}${tag} ... `);
          const row = await guarded(name, { target: name, transport: t, concurrency: c } as Row, () => loadScenario(name, t, c));
          rawRows.push(row);
          console.log(row.error ? 'failed' : `${f(row.callsPerSec, 0)} calls/s, ${f(row.cpuMsPerCall, 3)} cpu ms/call`);
        }
    if (idleK > 0)
      for (const t of transports)
        for (const name of targets) {
          if (!supports(name, t)) continue;
          process.stdout.write(`  idle ${name} ${t} x${idleK}${tag} ... `);
          const row = await guarded(name, { target: name, transport: t, sessions: 0 } as IdleRow, () => idleScenario(name, t, idleK));
          rawIdle.push(row);
          console.log(row.error ? 'failed' : `${f(row.bytesPerSession! / 1024, 1)} KiB/session`);
        }
  }
  const rows = aggregate(rawRows, (r) => `${r.target}|${r.transport}|${r.concurrency}`);
  const idle = aggregate(rawIdle, (r) => `${r.target}|${r.transport}`);
  if (repeat > 1) console.log(`\nmedians of ${repeat} runs (errors: sum)`);

  console.log('\n' + table(
    ['target', 'transport', 'conc', 'calls/s', 'p50 ms', 'p99 ms', 'errors', 'CPU ms/call', 'CPU %', 'upstream ms/call', 'RSS MB', 'peak MB', 'gen CPU %'],
    rows.map((r) => [
      r.target, r.transport, String(r.concurrency), f(r.callsPerSec, 0), f(r.p50Ms, 2), f(r.p99Ms, 2),
      r.error ? 'FAILED' : String(r.errors ?? '-'), f(r.cpuMsPerCall, 3), f(r.cpuPct, 0), f(r.upstreamCpuMsPerCall, 3),
      f(r.rssMB, 1), f(r.peakRssMB, 1), f(r.genCpuPct, 0),
    ]),
  ));
  for (const r of rows)
    if (r.error || (r.errors ?? 0) > 0) console.log(`  ${r.target} c=${r.concurrency}: ${r.error ?? JSON.stringify(r.errorKinds)}`);
  if (idle.length) {
    console.log('\n' + table(
      ['target', 'transport', 'sessions', 'RSS before MB', 'RSS after MB', 'RSS KiB/session', 'heap KiB/session (after GC)', 'upstream KiB/session'],
      idle.map((r) => [
        r.target, r.transport, String(r.sessions), f(r.rssBeforeMB, 1), f(r.rssAfterMB, 1),
        r.error ? 'FAILED' : f(r.bytesPerSession! / 1024, 1),
        r.error || r.heapBytesPerSession === undefined ? '-' : f(r.heapBytesPerSession / 1024, 1), f(r.upstreamBytesPerSession === undefined ? undefined : r.upstreamBytesPerSession / 1024, 1),
      ]),
    ));
    for (const r of idle) if (r.error) console.log(`  ${r.target}: ${r.error}`);
  }

  // Ratios against mcp-proxy (over HTTP, its only transport here).
  const ratios: { what: string; target: TargetName; transport: Transport; concurrency?: number; ratio?: number }[] = [];
  for (const name of targets.filter((n) => n !== 'mcp-proxy')) {
    for (const r of rows.filter((x) => x.target === name)) {
      const base = rows.find((x) => x.target === 'mcp-proxy' && x.transport === 'http' && x.concurrency === r.concurrency);
      if (base?.cpuMsPerCall && r.cpuMsPerCall !== undefined)
        ratios.push({ what: 'cpu_ms_per_call', target: name, transport: r.transport, concurrency: r.concurrency, ratio: r.cpuMsPerCall / base.cpuMsPerCall });
    }
    for (const r of idle.filter((x) => x.target === name)) {
      const base = idle.find((x) => x.target === 'mcp-proxy' && x.transport === 'http');
      if (base?.bytesPerSession && r.bytesPerSession !== undefined)
        ratios.push({ what: 'rss_bytes_per_idle_session', target: name, transport: r.transport, ratio: r.bytesPerSession / base.bytesPerSession });
      if (base?.heapBytesPerSession && r.heapBytesPerSession !== undefined)
        ratios.push({ what: 'heap_bytes_per_idle_session', target: name, transport: r.transport, ratio: r.heapBytesPerSession / base.heapBytesPerSession });
    }
  }
  if (targets.includes('mcp-proxy')) {
    console.log('\nratios vs mcp-proxy (http)  (< 1 means cheaper than mcp-proxy)');
    for (const name of targets.filter((n) => n !== 'mcp-proxy')) {
      const mine = ratios.filter((x) => x.target === name);
      if (mine.length === 0) console.log(`  ${name}/mcp-proxy: n/a${unavailable.has(name) ? ` (${name} unavailable)` : ''}`);
      for (const x of mine)
        console.log(`  ${name}(${x.transport})/mcp-proxy ${x.what}${x.concurrency ? ` c=${x.concurrency}` : ''}: ${f(x.ratio, 2)}`);
    }
  }
  if (rows.some((r) => (r.genCpuPct ?? 0) > 85))
    console.log('\nnote: the load generator used > 85% of a core in some scenario; calls/s there is generator-bound.');

  if (flags.json) {
    const meta = { node: process.version, cpus: cpus().length, clkTck: clockTicks(), date: new Date().toISOString(), durationMs, warmupMs, concurrencies, targets, transports, idleSessions: idleK, repeat };
    writeFileSync(flags.json, JSON.stringify({ meta, results: rows, idle, ratios, runs: { results: rawRows, idle: rawIdle } }, null, 2));
    console.log(`\nwrote ${flags.json}`);
  }
  return !rawRows.some((r) => r.error) && !rawIdle.some((r) => r.error);
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e: unknown) => {
    console.error(e);
    killAllNow();
    process.exit(1);
  },
);
