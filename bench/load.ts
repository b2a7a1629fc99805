// Minimal MCP load generator: N virtual sessions (see session.ts) each initialize, then call one tool
// back to back for a fixed duration after a warmup. Library: runLoad(), Histogram. CLI: --help
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchError, bump, callTail, checkCallReply, checkEcho, errKind, openSessions, probe, sleep, StreamSession, unrefSleep } from './session.js';
import type { Session, Transport } from './session.js';

export { openSessions, probe } from './session.js';
export type { Transport } from './session.js';

export interface LoadOptions {
  /** http://127.0.0.1:P/mcp, or ws://127.0.0.1:P/mcp/ws (client_id=bench-<i> is appended when absent). */
  url: string;
  transport: Transport;
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  tool?: string;
  args?: Record<string, unknown>;
  callTimeoutMs?: number;
  /** Called at the exact start / end of the measured window (e.g. to sample /proc). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface LoadResult {
  transport: Transport;
  concurrency: number;
  sessions: number;
  initMs: number;
  windowMs: number;
  calls: number;
  errors: number;
  errorKinds: Record<string, number>;
  callsPerSec: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU used by this (load generator) process during the window, as % of one core. */
  genCpuPct: number;
}

/** Log-bucketed latency histogram (~1% resolution, 1 µs .. ~10 min), fixed memory. */
export class Histogram {
  private static readonly K = 1 / Math.log(1.01);
  private readonly counts = new Uint32Array(2048);
  n = 0;
  sum = 0;
  max = 0;
  record(ms: number): void {
    const us = ms * 1000;
    const i = us <= 1 ? 0 : Math.min(2047, Math.floor(Math.log(us) * Histogram.K));
    this.counts[i]!++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return Math.min(this.max, Math.exp((i + 0.5) / Histogram.K) / 1000);
    }
    return this.max;
  }
}


export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const warmupMs = o.warmupMs ?? 1000;
  const callTimeoutMs = o.callTimeoutMs ?? 10_000;
  // Every echo call carries its own text (`<id>`, ids unique per session and across sessions), and the
  // reply must bring that text back: a proxy that hands one session's answer to another is caught.
  const fixedTail = o.args === undefined ? undefined : callTail(o.tool ?? 'echo', o.args);
  const head = `,"method":"tools/call","params":{"name":${JSON.stringify(o.tool ?? 'echo')},"arguments":{"message":"<`;
  const set = await openSessions(o.url, o.transport, o.concurrency, { timeoutMs: callTimeoutMs });
  if (set.sessions.length === 0) {
    await set.close();
    throw new Error(`no session could be initialized: ${JSON.stringify(set.initErrors)}`);
  }
  const hist = new Histogram();
  const errorKinds: Record<string, number> = { ...set.initErrors };
  let errors = Object.values(set.initErrors).reduce((a, b) => a + b, 0);
  let measuring = false;
  let stopped = false;
  let winStart = 0;
  let winEnd = 0;
  let cpu0 = process.cpuUsage();
  let genCpuUs = 0;

  const startTimer = setTimeout(() => {
    o.onMeasureStart?.();
    cpu0 = process.cpuUsage();
    winStart = performance.now();
    measuring = true;
  }, warmupMs);
  const endTimer = setTimeout(() => {
    measuring = false;
    stopped = true;
    winEnd = performance.now();
    const d = process.cpuUsage(cpu0);
    genCpuUs = d.user + d.system;
    o.onMeasureEnd?.();
  }, warmupMs + o.durationMs);
  // Shared watchdog for stream-borne replies (http calls are bounded by undici headers/body timeouts).
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const s of set.sessions)
      if (s instanceof StreamSession && s.pendingSince > 0 && now - s.pendingSince > callTimeoutMs) s.fail(new BenchError('timeout'));
  }, 250);

  async function worker(s: Session, seed: number): Promise<void> {
    let id = seed * 1_000_000;
    while (!stopped) {
      const t = performance.now();
      try {
        ++id;
        if (fixedTail !== undefined) checkCallReply(await s.rpc(id, fixedTail));
        else checkEcho(await s.rpc(id, `${head}${id}>"}}}`), `<${id}>`);
        if (measuring) hist.record(performance.now() - t);
      } catch (e) {
        if (measuring) {
          errors++;
          bump(errorKinds, errKind(e));
        }
        if (stopped) break;
        await sleep(10); // do not spin on a failing endpoint
        if (e instanceof BenchError && e.reinit) await s.init().catch(() => sleep(100));
      }
    }
  }
  const hardDeadline = unrefSleep(warmupMs + o.durationMs + callTimeoutMs + 5000);
  await Promise.race([Promise.all(set.sessions.map((s, i) => worker(s, i + 1))), hardDeadline]);
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  clearInterval(watchdog);
  stopped = true;
  await Promise.race([set.close(), unrefSleep(3000)]);

  const windowMs = winEnd > winStart ? winEnd - winStart : o.durationMs;
  return {
    transport: o.transport,
    concurrency: o.concurrency,
    sessions: set.sessions.length,
    initMs: set.initMs,
    windowMs,
    calls: hist.n,
    errors,
    errorKinds,
    callsPerSec: (hist.n * 1000) / windowMs,
    meanMs: hist.n ? hist.sum / hist.n : Number.NaN,
    p50Ms: hist.percentile(50),
    p90Ms: hist.percentile(90),
    p99Ms: hist.percentile(99),
    maxMs: hist.max,
    genCpuPct: genCpuUs / 10 / windowMs,
  };
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:3000/mcp' },
      transport: { type: 'string', default: 'http' },
      concurrency: { type: 'string', default: '10' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      tool: { type: 'string', default: 'echo' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node --import tsx bench/load.ts --url http://127.0.0.1:P/mcp [--transport http|sse|ws] [--concurrency 10] [--duration 5] [--warmup 1] [--tool echo]');
    return;
  }
  const transport = values.transport as Transport;
  if (transport !== 'http' && transport !== 'sse' && transport !== 'ws') throw new Error('--transport must be http, sse or ws');
  const concurrency = Math.min(1000, Math.max(1, Number(values.concurrency)));
  const durationMs = Math.min(600, Math.max(0.1, Number(values.duration))) * 1000;
  const warmupMs = Math.min(60, Math.max(0, Number(values.warmup))) * 1000;
  const tool = await probe(values.url!, transport, values.tool);
  const r = await runLoad({ url: values.url!, transport, concurrency, durationMs, warmupMs, tool });
  console.log(JSON.stringify(r, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
