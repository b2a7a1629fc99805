// Per-request CPU of the gateway on the modern (2026-07-28) wire vs the legacy (2025-11-25) wire:
// same gateway process, same stdio upstream (server-everything), same load (tools/call echo).
//   node --import tsx bench/eras.ts [--calls 2000] [--concurrency 10] [--rounds 2] [--json out.json]
// Phases alternate legacy/modern `rounds` times so drift hits both; each phase is bounded in count
// and time (60 s). CPU is the gateway process's utime+stime (/proc), divided by completed calls.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { sampleProc } from './procstat.js';
import { HEADERS, benchGatewayYaml, callLoop, legacySession, sessionHeaders } from './fetch-session.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const CALLS = Number(flags.calls);
const CONCURRENCY = Number(flags.concurrency);
const ROUNDS = Number(flags.rounds);
const PHASE_LIMIT_MS = 60_000;

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-eras-'));
const configFile = join(dir, 'gateway.yaml');
writeFileSync(
  configFile,
  benchGatewayYaml([`  - { name: everything, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}, stdio] }`]),
);

// BENCH_CPU_PROF=<dir>: the gateway writes a V8 CPU profile there when it exits (where the time goes).
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/cli/main.ts', 'start', '--config', configFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
const base = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 60_000);
  const onData = (d: Buffer) => {
    out += d.toString();
    const m = /listening on (http:\/\/[^\s"]+)\/mcp/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]!);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.once('exit', (code) => reject(new Error(`gateway exited (${code}):\n${out}`)));
});
const mcp = `${base}/mcp`;

const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } };

type Wire = 'legacy' | 'modern';
const sessions: string[] = [];

function call(wire: Wire, worker: number, id: number): Promise<boolean> {
  const params = { name: 'echo', arguments: { message: `m${id}` } };
  const init =
    wire === 'legacy'
      ? { headers: sessionHeaders(sessions[worker]!), body: { jsonrpc: '2.0', id, method: 'tools/call', params } }
      : { headers: { ...HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' }, body: { jsonrpc: '2.0', id, method: 'tools/call', params: { ...params, _meta: META } } };
  return fetch(mcp, { method: 'POST', headers: init.headers, body: JSON.stringify(init.body) })
    .then((r) => r.json())
    .then((j: { result?: unknown }) => j.result !== undefined, () => false);
}

async function phase(wire: Wire): Promise<{ wire: Wire; calls: number; errors: number; cpuMsPerCall: number; ms: number }> {
  const before = sampleProc(child.pid!)!;
  const { done, errors, ms } = await callLoop(CONCURRENCY, CALLS, PHASE_LIMIT_MS, (w, id) => call(wire, w, id));
  const after = sampleProc(child.pid!)!;
  return { wire, calls: done, errors, cpuMsPerCall: Number(((after.cpuMs - before.cpuMs) / Math.max(1, done)).toFixed(3)), ms };
}

try {
  for (let i = 0; i < CONCURRENCY; i++) sessions.push(await legacySession(mcp));
  // Warm-up (JIT, upstream) on both wires, at the same concurrency as the measured phases.
  for (const w of ['legacy', 'modern'] as const) {
    let n = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, k) => {
      while (n < 1000) await call(w, k, 1_000_000 + n++);
    }));
  }
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) for (const w of ['legacy', 'modern'] as const) rows.push(await phase(w));
  console.table(rows);
  // The median round of each wire: one round disturbed by another process on a shared machine does not decide.
  const median = (w: Wire) => {
    const v = rows.filter((x) => x.wire === w).map((x) => x.cpuMsPerCall).sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const legacy = median('legacy');
  const modern = median('modern');
  // Each round's modern phase against the legacy phase just before it (the nearest in time, so the
  // same background load): the median of those ratios, and their spread, say how sure the ratio is.
  const pairs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) pairs.push(rows[2 * r + 1]!.cpuMsPerCall / Math.max(1e-9, rows[2 * r]!.cpuMsPerCall));
  pairs.sort((a, b) => a - b);
  const pairMedian = pairs.length % 2 ? pairs[(pairs.length - 1) / 2]! : (pairs[pairs.length / 2 - 1]! + pairs[pairs.length / 2]!) / 2;
  const load = (await import('node:os')).loadavg()[0]!;
  const summary = {
    legacyCpuMsPerCall: Number(legacy.toFixed(3)),
    modernCpuMsPerCall: Number(modern.toFixed(3)),
    ratio: Number((modern / legacy).toFixed(3)),
    pairRatioMedian: Number(pairMedian.toFixed(3)),
    pairRatioMin: Number(pairs[0]!.toFixed(3)),
    pairRatioMax: Number(pairs[pairs.length - 1]!.toFixed(3)),
    loadAvg1m: Number(load.toFixed(2)),
    calls: CALLS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
  };
  console.log(JSON.stringify(summary));
  if (flags.json) writeFileSync(flags.json, JSON.stringify({ summary, rows }, null, 2));
} finally {
  child.kill('SIGTERM');
}
