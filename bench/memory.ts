// Memory per idle session (issue 16): a fresh gateway per transport, N initialized sessions each holding its
// stream (HTTP+SSE, WebSocket, Phoenix, Streamable HTTP GET) or none (Streamable HTTP), opened by a separate,
// light load generator (bench/memory-load.ts), then every session calls `echo` once and must get its own text
// back. Reported: start-up RSS, RSS and heap (after a full GC) per session, the generator's own RSS. `--mixed`
// adds the one-node run: N stream-holding sessions (split over the four stream kinds) plus N stream-less ones.
//
//   node --import tsx bench/memory.ts --sessions 2000            # every transport at 2000
//   node --import tsx bench/memory.ts --sessions 2000,10000 --mixed 10000 --json /tmp/mem.json
//   node --import tsx bench/memory.ts --transports ws --sessions 500 --gateway-src
//
// The gateway's caps are raised for the run (see gatewayYaml): session.max_sessions, the per-client caps,
// server.max_connections, rate limiting off, websocket.idle_timeout long (the generator answers pings).
// The file-descriptor limit of both children is raised with `ulimit -n` (up to the hard limit).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { MEM_TRANSPORTS, type LoadCommand, type LoadReply, type MemTransport } from './memory-load.js';
import { medianRss } from './procstat.js';
import { textTable, mdTable, fmt } from './report.js';
import { freePort, ROOT } from './targets.js';

const KB = 1024;
const MB = 1024 * 1024;
const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const STREAM_KINDS: readonly MemTransport[] = ['sse', 'ws', 'phoenix', 'http-get'];
/** Node/V8 options for the gateway, for experiments: BENCH_GATEWAY_NODE_ARGS='--max-semi-space-size=16' (V8's default young generation). */
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Targets of issue 16. */
export const MEMORY_TARGETS = { streamSessionBytes: 8 * KB, mixedTotalBytes: 200 * MB, startupBytes: 60 * MB };

export interface MemoryRow {
  transport: MemTransport | 'mixed';
  sessions: number;
  startupRssMB: number;
  /** npm packages loaded at start-up, before any client (CommonJS ones, as require.cache lists them). */
  startupPackages: string[];
  rssBeforeMB: number;
  rssAfterMB: number;
  /** Least-squares slope of RSS over open sessions. */
  rssBytesPerSession: number;
  /** Same, of the heap after a full GC (without code space: JIT output is not a per-session cost). */
  heapBytesPerSession: number;
  /** The largest young generation (V8 new space, resident) seen at a step, before the GC: what the burst of sessions grew it to. */
  newSpaceMaxMB?: number;
  /** The median of the steps' heap growth per session: robust to a one-off allocation of the process during one step. */
  heapBytesPerSessionMedian?: number;
  /** Sessions that answered a tools/call afterwards / sessions opened. */
  answered: number;
  failed: number;
  failures: Record<string, number>;
  generatorRssMB: number;
  openMs: number;
  error?: string;
}

const gatewayYaml = (logDir: string, sessions: number) => `profile: dev
logging: { level: warn, dir: ${JSON.stringify(logDir)} }
rate_limiting: { enabled: false }
server: { max_connections: ${sessions * 2 + 1000}, max_connections_per_client: ${sessions * 2 + 1000} }
session: { max_sessions: ${sessions * 2 + 1000}, max_sessions_per_client: ${sessions * 2 + 1000} }
websocket: { idle_timeout: 3600000 }
upstreams:
  - name: everything
    transport: stdio
    command: node
    args: ${JSON.stringify([EVERYTHING, 'stdio'])}
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns `node args` in its own process group with the fd limit raised as far as the hard limit allows. */
function spawnNode(args: string[], env: Record<string, string>, ipc: boolean): ChildProcess {
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return spawn('bash', ['-c', `ulimit -n $(ulimit -Hn) 2>/dev/null; exec ${quoted}`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'pipe'],
  });
}

function killGroup(c: ChildProcess): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

interface Gw {
  child: ChildProcess;
  pid: number;
  base: string;
  gcDir: string;
  dir: string;
  stderr: () => string;
}

async function startGateway(sessions: number, fromSrc: boolean, snapshotDir?: string): Promise<Gw> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  const gcDir = join(dir, 'gc');
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, gatewayYaml(dir, sessions));
  const port = await freePort();
  const entry = fromSrc ? ['--import', 'tsx', 'src/cli/main.ts'] : ['bin/mcp-gateway.js'];
  const { mkdirSync } = await import('node:fs');
  mkdirSync(gcDir);
  const snap = snapshotDir ? ['--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${snapshotDir}`] : [];
  const child = spawnNode([...snap, ...GATEWAY_NODE_ARGS, '--expose-gc', '--require', join(ROOT, 'bench', 'gc-preload.cjs'), ...entry, 'start', '--config', config, '--port', String(port), '--host', '127.0.0.1'], { BENCH_GC_DIR: gcDir, NODE_OPTIONS: '' }, false);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const r = await request(`${base}/health`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  if (child.exitCode !== null || Date.now() >= deadline) {
    killGroup(child);
    throw new Error(`gateway did not start: ${err}`);
  }
  // The same first responses in every run: V8 fixes an object's layout after its first seven instances
  // (in-object slack tracking), and which responses those were decided whether every later ServerResponse
  // of the process sat in dictionary mode, ~3 KB more per SSE/GET stream, in one run and not the next (ADR 0200).
  for (let i = 0; i < 8; i++) await (await request(`${base}/health`, { headersTimeout: 2000, bodyTimeout: 2000 })).body.dump();
  // The gateway is the child of bash's exec: same pid.
  return { child, pid: child.pid!, base, gcDir, dir, stderr: () => err };
}

/** The gateway's heap after two full GCs (bench/gc-preload.cjs answers SIGUSR2). */
async function heapAfterGc(gw: Gw, row?: MemoryRow): Promise<number> {
  const r = await gcReport(gw);
  if (row && r?.newSpaceBytes !== undefined) row.newSpaceMaxMB = Math.max(row.newSpaceMaxMB ?? 0, r.newSpaceBytes / MB);
  return r?.dataHeapUsed ?? r?.heapUsed ?? Number.NaN;
}

async function gcReport(gw: Gw): Promise<{ heapUsed: number; dataHeapUsed?: number; newSpaceBytes?: number; packages: string[] } | undefined> {
  const asked = Date.now();
  process.kill(gw.pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      const m = JSON.parse(readFileSync(join(gw.gcDir, `${gw.pid}.json`), 'utf8')) as { heapUsed: number; dataHeapUsed?: number; newSpaceBytes?: number; packages: string[]; t: number };
      if (m.t >= asked) return m;
    } catch {
      /* not written yet */
    }
  }
  return undefined;
}

/** A heap snapshot of the gateway (--heapsnapshot-signal), renamed to `<name>.heapsnapshot` once written. */
async function snapshot(gw: Gw, dir: string, name: string): Promise<void> {
  const { readdirSync, renameSync } = await import('node:fs');
  const known = new Set(readdirSync(dir));
  process.kill(gw.pid, 'SIGWINCH');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const fresh = readdirSync(dir).find((f) => !known.has(f) && f.endsWith('.heapsnapshot'));
    if (!fresh) continue;
    // Written synchronously by the gateway: once it answers again, the file is complete.
    const r = await request(`${gw.base}/health`, { headersTimeout: 60_000 });
    await r.body.dump();
    renameSync(join(dir, fresh), join(dir, `${name}.heapsnapshot`));
    return;
  }
  throw new Error('heap snapshot not written');
}

/** The generator child: one command at a time, each answered with a LoadReply. */
class Generator {
  readonly child: ChildProcess;
  #waiting?: (r: LoadReply) => void;
  #ready: Promise<LoadReply>;
  constructor(base: string) {
    this.child = spawnNode(['--import', 'tsx', join(ROOT, 'bench', 'memory-load.ts'), base], { NODE_OPTIONS: '' }, true);
    this.#ready = new Promise((r) => (this.#waiting = r));
    this.child.on('message', (m: LoadReply) => this.#waiting?.(m));
  }
  ready(): Promise<LoadReply> {
    return this.#ready;
  }
  send(cmd: LoadCommand, timeoutMs: number): Promise<LoadReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator: ${cmd.op} timed out after ${timeoutMs} ms`)), timeoutMs);
      this.#waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.child.send(cmd);
    });
  }
  stop(): void {
    try {
      this.child.send({ op: 'stop' });
    } catch {
      /* gone */
    }
    setTimeout(() => killGroup(this.child), 2000).unref();
  }
}

export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface MemoryOptions {
  sessions: number[];
  transports: MemTransport[];
  /** Stream-holding + stream-less sessions on one node (0: skip). */
  mixed: number;
  fromSrc?: boolean;
  steps?: number;
  /** Write the gateway's heap snapshots after the warm-up and at the end here (bench/heap-diff.mjs compares them). */
  snapshotDir?: string;
  log?: (s: string) => void;
}

/** One fresh gateway: `plan` lists what to open, in order, in `steps` batches each. */
async function measure(label: MemoryRow['transport'], plan: Array<{ t: MemTransport; n: number }>, o: MemoryOptions): Promise<MemoryRow> {
  const total = plan.reduce((a, p) => a + p.n, 0);
  const steps = o.steps ?? 4;
  const gw = await startGateway(total, !!o.fromSrc, o.snapshotDir);
  const gen = new Generator(gw.base);
  const row: MemoryRow = {
    transport: label, sessions: 0, startupRssMB: 0, startupPackages: [], rssBeforeMB: 0, rssAfterMB: 0, rssBytesPerSession: 0, heapBytesPerSession: 0,
    answered: 0, failed: 0, failures: {}, generatorRssMB: 0, openMs: 0,
  };
  try {
    await Promise.race([gen.ready(), sleep(30_000).then(() => Promise.reject(new Error('generator did not start')))]);
    await sleep(500);
    row.startupRssMB = (await medianRss(gw.pid, 5, 100)) / MB;
    row.startupPackages = (await gcReport(gw))?.packages ?? [];
    // Warm-up: first use of each code path (and of V8's code for it) is not a per-session cost.
    for (const p of plan) {
      const w = await gen.send({ op: 'open', transport: p.t, n: 20 }, 60_000);
      if (!w.ok) throw new Error(`warm-up ${p.t}: ${JSON.stringify(w.kinds)}`);
      const c = await gen.send({ op: 'call', transport: p.t, tool: 'echo' }, 60_000);
      if (!c.ok) throw new Error(`warm-up call ${p.t}: ${JSON.stringify(c.kinds)}`);
    }
    const warm = plan.length * 20;
    await sleep(300);
    const xs = [warm];
    const rss = [await medianRss(gw.pid, 5, 60)];
    const heap = [await heapAfterGc(gw)];
    row.rssBeforeMB = rss[0]! / MB;
    if (o.snapshotDir) await snapshot(gw, o.snapshotDir, `${label}-before`);
    let opened = warm;
    const t0 = Date.now();
    for (let step = 1; step <= steps; step++) {
      for (const p of plan) {
        const want = Math.round((p.n * step) / steps) - Math.round((p.n * (step - 1)) / steps);
        const r = await gen.send({ op: 'open', transport: p.t, n: want }, 30_000 + want * 20);
        opened += r.done;
        row.generatorRssMB = r.rssBytes / MB;
        if (!r.ok) throw new Error(`opening ${p.t}: ${r.failed} failed ${JSON.stringify(r.kinds)}`);
      }
      await sleep(300);
      xs.push(opened);
      rss.push(await medianRss(gw.pid, 5, 60));
      heap.push(await heapAfterGc(gw, row));
      o.log?.(`    ${label}: ${opened} sessions, RSS ${fmt(rss.at(-1)! / MB, 1)} MB\n`);
    }
    row.openMs = Date.now() - t0;
    if (o.snapshotDir) await snapshot(gw, o.snapshotDir, `${label}-after-${opened - warm}`);
    row.sessions = opened;
    row.rssAfterMB = rss.at(-1)! / MB;
    row.rssBytesPerSession = slope(xs, rss);
    row.heapBytesPerSession = slope(xs, heap);
    // Every session (warm-up ones too) still answers a call with its own text.
    for (const p of plan) {
      const c = await gen.send({ op: 'call', transport: p.t, tool: 'echo' }, 60_000 + p.n * 20);
      row.answered += c.done;
      row.failed += c.failed;
      for (const [k, v] of Object.entries(c.kinds)) row.failures[k] = (row.failures[k] ?? 0) + v;
      row.generatorRssMB = c.rssBytes / MB;
    }
    if (row.failed > 0) row.error = `${row.failed} sessions did not answer: ${JSON.stringify(row.failures)}`;
  } catch (err) {
    row.error = (err as Error).message;
  } finally {
    gen.stop();
    killGroup(gw.child);
    rmSync(gw.dir, { recursive: true, force: true });
  }
  return row;
}

/**
 * One gateway for every transport, measured one after another (each warmed up, then its sessions opened in
 * `steps`; the earlier transports' sessions stay open). Quicker than a gateway per transport (the regression
 * test uses it); the slopes are the same within noise at a few hundred sessions.
 */
async function measureShared(transports: MemTransport[], n: number, o: MemoryOptions): Promise<MemoryRow[]> {
  const steps = o.steps ?? 2;
  const gw = await startGateway(n * transports.length + 20 * transports.length, !!o.fromSrc, o.snapshotDir);
  const gen = new Generator(gw.base);
  const rows: MemoryRow[] = [];
  try {
    await Promise.race([gen.ready(), sleep(30_000).then(() => Promise.reject(new Error('generator did not start')))]);
    await sleep(300);
    const startupRssMB = (await medianRss(gw.pid, 3, 50)) / MB;
    const startupPackages = (await gcReport(gw))?.packages ?? [];
    // Every transport's first use (lazy packages such as ws, first compiled paths) before any is measured.
    for (const t of transports) {
      const w = await gen.send({ op: 'open', transport: t, n: 20 }, 60_000);
      if (!w.ok) throw new Error(`warm-up ${t}: ${JSON.stringify(w.kinds)}`);
      const c = await gen.send({ op: 'call', transport: t, tool: 'echo' }, 60_000);
      if (!c.ok) throw new Error(`warm-up call ${t}: ${JSON.stringify(c.kinds)}`);
    }
    for (const t of transports) {
      const row: MemoryRow = {
        transport: t, sessions: 0, startupRssMB, startupPackages, rssBeforeMB: 0, rssAfterMB: 0, rssBytesPerSession: 0, heapBytesPerSession: 0,
        answered: 0, failed: 0, failures: {}, generatorRssMB: 0, openMs: 0,
      };
      rows.push(row);
      try {
        const xs = [20];
        const heap = [await heapAfterGc(gw)];
        const rss = [await medianRss(gw.pid, 3, 50)];
        row.rssBeforeMB = rss[0]! / MB;
        let opened = 20;
        const t0 = Date.now();
        for (let step = 1; step <= steps; step++) {
          const want = Math.round((n * step) / steps) - Math.round((n * (step - 1)) / steps);
          const r = await gen.send({ op: 'open', transport: t, n: want }, 30_000 + want * 20);
          opened += r.done;
          if (!r.ok) throw new Error(`opening ${t}: ${r.failed} failed ${JSON.stringify(r.kinds)}`);
          xs.push(opened);
          heap.push(await heapAfterGc(gw, row));
          rss.push(await medianRss(gw.pid, 3, 50));
        }
        row.openMs = Date.now() - t0;
        row.sessions = opened;
        row.rssAfterMB = rss.at(-1)! / MB;
        row.heapBytesPerSession = slope(xs, heap);
        const perStep = xs.slice(1).map((x, i) => (heap[i + 1]! - heap[i]!) / (x - xs[i]!)).sort((a, b) => a - b);
        row.heapBytesPerSessionMedian = perStep[perStep.length >> 1];
        row.rssBytesPerSession = slope(xs, rss);
        const a = await gen.send({ op: 'call', transport: t, tool: 'echo' }, 60_000 + n * 20);
        row.answered = a.done;
        row.failed = a.failed;
        row.failures = a.kinds;
        row.generatorRssMB = a.rssBytes / MB;
        if (a.failed > 0) row.error = `${a.failed} sessions did not answer: ${JSON.stringify(a.kinds)}`;
      } catch (err) {
        row.error = (err as Error).message;
      }
    }
  } finally {
    gen.stop();
    killGroup(gw.child);
    rmSync(gw.dir, { recursive: true, force: true });
  }
  return rows;
}

/** Every transport at every size, then the mixed run. */
export async function runMemory(o: MemoryOptions & { shared?: boolean }): Promise<MemoryRow[]> {
  if (o.shared) return (await Promise.all(o.sessions.map((n) => measureShared(o.transports, n, o)))).flat();
  const rows: MemoryRow[] = [];
  for (const n of o.sessions) {
    for (const t of o.transports) {
      o.log?.(`  memory ${t} x${n} ... `);
      const r = await measure(t, [{ t, n }], o);
      o.log?.(r.error ? `FAILED: ${r.error}\n` : `${fmt(r.rssBytesPerSession / KB, 1)} KB/session\n`);
      rows.push(r);
    }
  }
  if (o.mixed > 0) {
    o.log?.(`  memory mixed ${o.mixed} streams + ${o.mixed} stream-less ... `);
    const each = Math.round(o.mixed / STREAM_KINDS.length);
    const r = await measure('mixed', [...STREAM_KINDS.map((t) => ({ t, n: each })), { t: 'http' as const, n: o.mixed }], o);
    o.log?.(r.error ? `FAILED: ${r.error}\n` : `RSS ${fmt(r.rssAfterMB, 1)} MB\n`);
    rows.push(r);
  }
  return rows;
}

/** Does a row meet issue 16's target? */
export function memoryVerdict(r: MemoryRow): string {
  if (r.error) return 'error';
  if (r.transport === 'mixed') return r.rssAfterMB * MB <= MEMORY_TARGETS.mixedTotalBytes ? 'ok' : 'over';
  if (r.transport === 'http') return '-';
  return r.rssBytesPerSession <= MEMORY_TARGETS.streamSessionBytes ? 'ok' : 'over';
}

export const MEMORY_HEAD = ['transport', 'sessions', 'start-up RSS MB', 'RSS before MB', 'RSS after MB', 'RSS KB/session', 'heap KB/session', 'new space MB', 'answered', 'generator RSS MB', 'target'];
export function memoryCells(r: MemoryRow): string[] {
  return [
    r.transport, String(r.sessions), fmt(r.startupRssMB, 1), fmt(r.rssBeforeMB, 1), fmt(r.rssAfterMB, 1), fmt(r.rssBytesPerSession / KB, 1),
    fmt(r.heapBytesPerSession / KB, 1), r.newSpaceMaxMB === undefined ? '-' : fmt(r.newSpaceMaxMB, 1), `${r.answered}/${r.sessions}`, fmt(r.generatorRssMB, 1), memoryVerdict(r),
  ];
}
export const memoryMarkdown = (rows: MemoryRow[]) => mdTable(MEMORY_HEAD, rows.map(memoryCells));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '2000' },
      transports: { type: 'string', default: MEM_TRANSPORTS.join(',') },
      mixed: { type: 'string', default: '0' },
      steps: { type: 'string', default: '4' },
      'gateway-src': { type: 'boolean', default: false },
      snapshot: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const sessions = values.sessions.split(',').map(Number);
  const transports = values.transports.split(',') as MemTransport[];
  const mixed = Number(values.mixed);
  for (const n of [...sessions, mixed]) if (!Number.isInteger(n) || n < 0 || n > 20_000) throw new Error(`session counts are 0..20000, got ${n}`);
  for (const t of transports) if (!MEM_TRANSPORTS.includes(t)) throw new Error(`unknown transport ${t} (${MEM_TRANSPORTS.join(', ')})`);
  const budget = setTimeout(() => {
    console.error('memory bench: time budget exceeded');
    process.exit(2);
  }, 30 * 60_000);
  budget.unref();
  const rows = await runMemory({ sessions, transports, mixed, fromSrc: values['gateway-src'], steps: Number(values.steps), snapshotDir: values.snapshot, log: (s) => process.stdout.write(s) });
  console.log('\n' + textTable(MEMORY_HEAD, rows.map(memoryCells)));
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
  process.exit(rows.some((r) => r.error) ? 1 : 0);
}
