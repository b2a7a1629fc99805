// CPU per relayed call of the gateway with OpenTelemetry off vs on (100% sampling, spans and the
// mcp.* histograms exported over OTLP/HTTP to a sink in this process), and optionally vs the code
// of another git ref ("today", telemetry not built in at all):
//   node --import tsx bench/otel.ts [--calls 3000] [--concurrency 10] [--rounds 3] [--baseline main] [--json out.json]
// Every variant is its own gateway process with its own stdio upstream (server-everything), all
// started up front; phases alternate between variants `rounds` times so drift hits every variant,
// and the median round decides. Each phase is bounded in count and time (60 s). CPU is the gateway
// process's utime+stime (/proc, the upstream child excluded), divided by completed calls. Every
// call carries a client traceparent in _meta, as an instrumented client would send it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { sampleProc } from './procstat.js';
import { benchGatewayYaml, callLoop, legacySession, sessionHeaders } from './fetch-session.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
    json: { type: 'string' },
  },
});
const CALLS = Number(flags.calls);
const CONCURRENCY = Number(flags.concurrency);
const ROUNDS = Number(flags.rounds);
const PHASE_LIMIT_MS = 60_000;

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-otel-bench-'));

// The collector stand-in: reads every export and answers success (its CPU is this process's, not the gateway's).
let exportsSeen = 0;
const sink = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    exportsSeen++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

interface Variant {
  name: string;
  src: string;
  telemetry?: string;
  child?: ChildProcess;
  mcp?: string;
  sessions: string[];
}

const variants: Variant[] = [
  { name: 'off', src: 'src', sessions: [] },
  { name: 'on (100%)', src: 'src', telemetry: `telemetry: { otlp: { endpoint: "${sinkUrl}", sampling_ratio: 1, traces_delay: 1000, metrics_interval: 5000 } }`, sessions: [] },
];
if (flags.baseline) {
  // The other ref's src/ in a temp dir (git archive: nothing in any work tree changes), sharing this node_modules.
  const base = join(dir, 'baseline');
  execFileSync('sh', ['-c', `mkdir -p ${base} && git archive ${flags.baseline} src package.json | tar -x -C ${base}`]);
  symlinkSync(resolve('node_modules'), join(base, 'node_modules'));
  variants.unshift({ name: `baseline (${flags.baseline})`, src: join(base, 'src'), sessions: [] });
}

async function start(v: Variant, i: number): Promise<void> {
  const configFile = join(dir, `gateway-${i}.yaml`);
  writeFileSync(
    configFile,
    benchGatewayYaml([`  - { name: everything, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}, stdio] }`], v.telemetry ? [v.telemetry] : []),
  );
  // No OTEL_* from the bench's own environment: each variant is exactly what its config says.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = spawn(process.execPath, ['--import', 'tsx', join(v.src, 'cli/main.ts'), 'start', '--config', configFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  v.child = child;
  let out = '';
  const base = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`gateway ${v.name} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s"]+)\/mcp/.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => rej(new Error(`gateway ${v.name} exited (${code}):\n${out}`)));
  });
  v.mcp = `${base}/mcp`;
}


function call(v: Variant, worker: number, id: number): Promise<boolean> {
  const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  const body = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${id}` }, _meta: { traceparent } } };
  return fetch(v.mcp!, { method: 'POST', headers: sessionHeaders(v.sessions[worker]!), body: JSON.stringify(body) })
    .then((r) => r.json())
    .then((j: { result?: unknown }) => j.result !== undefined, () => false);
}

async function phase(v: Variant): Promise<{ variant: string; calls: number; errors: number; cpuMsPerCall: number; ms: number }> {
  const before = sampleProc(v.child!.pid!)!;
  const { done, errors, ms } = await callLoop(CONCURRENCY, CALLS, PHASE_LIMIT_MS, (w, id) => call(v, w, id));
  const after = sampleProc(v.child!.pid!)!;
  return { variant: v.name, calls: done, errors, cpuMsPerCall: Number(((after.cpuMs - before.cpuMs) / Math.max(1, done)).toFixed(4)), ms };
}

try {
  for (const [i, v] of variants.entries()) await start(v, i);
  for (const v of variants) for (let i = 0; i < CONCURRENCY; i++) v.sessions.push(await legacySession(v.mcp!));
  // Warm-up (JIT, upstream, the SDK's first export) at the measured concurrency.
  for (const v of variants) {
    let n = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, k) => {
      while (n < 1000) await call(v, k, 1_000_000 + n++);
    }));
  }
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) rows.push(await phase(v));
  console.table(rows);
  const median = (name: string) => {
    const x = rows.filter((row) => row.variant === name).map((row) => row.cpuMsPerCall).sort((a, b) => a - b);
    return x.length % 2 ? x[(x.length - 1) / 2]! : (x[x.length / 2 - 1]! + x[x.length / 2]!) / 2;
  };
  const summary: Record<string, unknown> = { calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS, otlpExportsReceived: exportsSeen };
  for (const v of variants) summary[`${v.name} cpuMsPerCall`] = Number(median(v.name).toFixed(4));
  const off = median('off');
  summary['on/off'] = Number((median('on (100%)') / off).toFixed(3));
  if (flags.baseline) summary['off/baseline'] = Number((off / median(variants[0]!.name)).toFixed(3));
  console.log(JSON.stringify(summary));
  if (flags.json) writeFileSync(flags.json, JSON.stringify({ summary, rows }, null, 2));
  if (rows.some((r) => r.errors > 0)) process.exitCode = 1;
} finally {
  for (const v of variants) v.child?.kill('SIGTERM');
  sink.close();
  rmSync(dir, { recursive: true, force: true });
}
