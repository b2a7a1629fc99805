// CPU per relayed call of the gateway in front of a Streamable HTTP upstream (a trivial fast one,
// bench/shttp-upstream-server.mjs, answering as SSE or as a JSON body), optionally against the code of
// another git ref:
//   node --import tsx bench/shttp-upstream.ts [--calls 3000] [--warmup 3000] [--concurrency 10] [--rounds 5] [--mode sse|json|stdio|both|all] [--baseline main] [--json out.json]
// Each variant is its own gateway process with its own upstream process, all started up front; phases
// alternate between variants `rounds` times so the machine's drift hits every variant, and the median
// decides. CPU is the gateway process's utime+stime (/proc) over the phase divided by completed calls.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clockTicks } from './procstat.js';
import { benchGatewayYaml, callLoop, legacySession, sessionHeaders } from './fetch-session.js';

const { values: flags } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'sse' },
    baseline: { type: 'string' },
    json: { type: 'string' },
    // Node/V8 options for this tree's gateway only (e.g. `--max-semi-space-size=2` against --baseline HEAD).
    'this-args': { type: 'string', default: '' },
  },
});
const CALLS = Number(flags.calls);
const CONCURRENCY = Number(flags.concurrency);
const ROUNDS = Number(flags.rounds);
// `all` adds a stdio upstream (the same answers over a pipe) as the floor the HTTP path is compared with.
const MODES = flags.mode === 'both' ? ['sse', 'json'] : flags.mode === 'all' ? ['sse', 'json', 'stdio'] : [flags.mode!];
const WARMUP = Number(flags.warmup);
const PHASE_LIMIT_MS = 60_000;

/** utime and stime of a process in ms (/proc/<pid>/stat fields 14 and 15): user space is where the gateway's code runs. */
function cpu(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ms = 1000 / clockTicks();
  return { user: Number(f[11]) * ms, sys: Number(f[12]) * ms };
}
const dir = mkdtempSync(join(tmpdir(), 'mcpgw-shttp-bench-'));

interface Variant {
  name: string;
  src: string;
  mode: string;
  children: ChildProcess[];
  gateway?: ChildProcess;
  mcp?: string;
  sessions: string[];
}

const sources: { label: string; src: string }[] = [{ label: 'this', src: 'src' }];
if (flags.baseline) {
  // The other ref's src/ in a temp dir (git archive: nothing in any work tree changes), sharing this node_modules.
  const base = join(dir, 'baseline');
  execFileSync('sh', ['-c', `mkdir -p ${base} && git archive ${flags.baseline} src package.json | tar -x -C ${base}`]);
  symlinkSync(resolve('node_modules'), join(base, 'node_modules'));
  sources.unshift({ label: `baseline (${flags.baseline})`, src: join(base, 'src') });
}
const variants: Variant[] = MODES.flatMap((mode) => sources.map((s) => ({ name: `${s.label} ${mode}`, src: s.src, mode, children: [], sessions: [] })));

function waitFor(child: ChildProcess, re: RegExp, what: string): Promise<string> {
  let out = '';
  return new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => rej(new Error(`${what} exited (${code}):\n${out}`)));
  });
}

async function start(v: Variant, i: number): Promise<void> {
  const server = resolve('bench/shttp-upstream-server.mjs');
  let upstreamLine: string;
  if (v.mode === 'stdio') {
    upstreamLine = `  - { name: fast, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(server)}, stdio], protocol: legacy }`;
  } else {
    const upstream = spawn(process.execPath, [server, v.mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    v.children.push(upstream);
    const port = await waitFor(upstream, /listening (\d+)/, `upstream of ${v.name}`);
    upstreamLine = `  - { name: fast, transport: streamable_http, url: "http://127.0.0.1:${port}/mcp", protocol: legacy }`;
  }
  const configFile = join(dir, `gateway-${i}.yaml`);
  writeFileSync(
    configFile,
    benchGatewayYaml([upstreamLine]),
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const gateway = spawn(process.execPath, [...(v.src === 'src' && flags['this-args'] ? flags['this-args'].split(' ') : []), '--import', 'tsx', join(v.src, 'cli/main.ts'), 'start', '--config', configFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  v.children.push(gateway);
  v.gateway = gateway;
  v.mcp = `${await waitFor(gateway, /listening on (http:\/\/[^\s"]+)\/mcp/, `gateway ${v.name}`)}/mcp`;
}


function call(v: Variant, worker: number, id: number): Promise<boolean> {
  const body = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${id}` } } };
  return fetch(v.mcp!, { method: 'POST', headers: sessionHeaders(v.sessions[worker]!), body: JSON.stringify(body) })
    .then((r) => r.json())
    .then((j: { result?: { content?: { text?: string }[] } }) => j.result?.content?.[0]?.text === `m${id}`, () => false);
}

interface Row { variant: string; calls: number; errors: number; cpuMsPerCall: number; userMsPerCall: number; sysMsPerCall: number; ms: number }

async function phase(v: Variant): Promise<Row> {
  const before = cpu(v.gateway!.pid!);
  const { done, errors, ms } = await callLoop(CONCURRENCY, CALLS, PHASE_LIMIT_MS, (w, id) => call(v, w, id));
  const after = cpu(v.gateway!.pid!);
  const per = (ms: number) => Number((ms / Math.max(1, done)).toFixed(4));
  const user = after.user - before.user;
  const sys = after.sys - before.sys;
  return { variant: v.name, calls: done, errors, cpuMsPerCall: per(user + sys), userMsPerCall: per(user), sysMsPerCall: per(sys), ms };
}

const median = (xs: number[]) => {
  const x = [...xs].sort((a, b) => a - b);
  return x.length % 2 ? x[(x.length - 1) / 2]! : (x[x.length / 2 - 1]! + x[x.length / 2]!) / 2;
};

try {
  await Promise.all(variants.map((v, i) => start(v, i)));
  for (const v of variants) for (let i = 0; i < CONCURRENCY; i++) v.sessions.push(await legacySession(v.mcp!));
  for (const v of variants) {
    let n = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, k) => {
      while (n < WARMUP) await call(v, k, 1_000_000 + n++);
    }));
  }
  const rows: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) for (const v of variants) rows.push(await phase(v));
  console.table(rows);
  const summary: Record<string, unknown> = { calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS };
  for (const v of variants) {
    const mine = rows.filter((r) => r.variant === v.name);
    summary[`${v.name} cpuMsPerCall`] = Number(median(mine.map((r) => r.cpuMsPerCall)).toFixed(4));
    summary[`${v.name} userMsPerCall`] = Number(median(mine.map((r) => r.userMsPerCall)).toFixed(4));
  }
  if (flags.baseline) {
    for (const mode of MODES) {
      const mine = median(rows.filter((r) => r.variant === `this ${mode}`).map((r) => r.cpuMsPerCall));
      const base = median(rows.filter((r) => r.variant === `${sources[0]!.label} ${mode}`).map((r) => r.cpuMsPerCall));
      summary[`${mode} this/baseline`] = Number((mine / base).toFixed(3));
    }
  }
  console.log(JSON.stringify(summary));
  if (flags.json) writeFileSync(flags.json, JSON.stringify({ summary, rows }, null, 2));
  if (rows.some((r) => r.errors > 0)) process.exitCode = 1;
} finally {
  for (const v of variants) for (const c of v.children) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
