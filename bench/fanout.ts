// Fan-out cold start (issue 16, ADR 0210): a gateway (in this process) with 20 stdio upstreams
// (test/fixtures/fanout-server.mjs, real SDK servers spawned in parallel): all healthy, one that
// never answers its lists, one that never answers at all. Reports the time from start to the
// first full list and each upstream's outcome, checks a client's tools/list (every healthy upstream's
// tools) and calls every healthy upstream's tool at once (each must answer its own text); first the
// same children spawned and listed directly by SDK clients (the floor the gateway cannot beat).
// `run.ts` runs it too (`--fanout-upstreams 20`, 0 = skip).
//   node --import tsx bench/fanout.ts [--upstreams 20]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { validateConfig } from '../src/config/index.js';
import { startGateway } from '../src/gateway.js';

export interface FanoutRow {
  scenario: string;
  upstreams: number;
  /** Start of the gateway to listening with every upstream's first lists settled (or the direct floor). */
  firstListMs: number;
  /** A client's tools/list once open, and the tools it held (three per healthy upstream). */
  listMs?: number;
  tools?: number;
  expectedTools?: number;
  /** Every healthy upstream's tool called at once: how many answered with their own text, and the slowest. */
  callsOk?: number;
  calls?: number;
  callMaxMs?: number;
  outcomes?: Record<string, number>;
  ok: boolean;
  error?: string;
}

const FIXTURE = 'test/fixtures/fanout-server.mjs';
/** routing.list_timeout's default, which this scenario runs with. */
const LIST_TIMEOUT_MS = 1000;
const up = (n: number, mode?: string) => ({ name: `f${n}`, transport: 'stdio' as const, command: process.execPath, args: [FIXTURE, String(n), ...(mode ? [mode] : [])], protocol: 'legacy' as const });
const SCENARIOS = [['all healthy', undefined], ['one stalls its lists', '--stall-lists'], ['one never answers', '--silent']] as const;

/** The floor: the same children spawned and listed directly by SDK clients, all at once (no gateway). */
async function direct(count: number): Promise<FanoutRow> {
  const t0 = performance.now();
  const clients = await Promise.all(Array.from({ length: count }, async (_, n) => {
    const c = new Client({ name: 'bench-direct', version: '1' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: [FIXTURE, String(n)] }));
    await c.listTools();
    return c;
  }));
  const firstListMs = performance.now() - t0;
  await Promise.all(clients.map((c) => c.close()));
  return { scenario: 'direct (SDK clients, no gateway)', upstreams: count, firstListMs, ok: true };
}

async function throughGateway(count: number, scenario: string, mode: string | undefined): Promise<FanoutRow> {
  const upstreams = Array.from({ length: count }, (_, n) => up(n, n === count - 1 ? mode : undefined));
  const t0 = performance.now();
  const { gateway, url } = await startGateway(validateConfig({ server: { port: 0, host: '127.0.0.1' }, logging: { dir: '', stdout: false }, upstreams }));
  try {
    const firstListMs = performance.now() - t0;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(`${url}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
    const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    await init.text();
    await (await fetch(`${url}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    const rpc = async (id: number, method: string, params?: unknown) => (await (await fetch(`${url}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) })).json()) as { result?: { tools?: { name: string }[]; content?: { text?: string }[] } };
    const t1 = performance.now();
    const list = await rpc(2, 'tools/list');
    const listMs = performance.now() - t1;
    const tools = list.result?.tools ?? [];
    const healthy = mode ? count - 1 : count;
    // Every healthy upstream's `hello_<n>` at once, under whatever name the gateway lists it.
    const hellos = tools.flatMap((t) => { const m = /hello_(\d+)$/.exec(t.name); return m ? [{ name: t.name, n: m[1]! }] : []; });
    let callsOk = 0;
    let callMaxMs = 0;
    await Promise.all(hellos.map(async (h, i) => {
      const t = performance.now();
      const r = await rpc(10 + i, 'tools/call', { name: h.name, arguments: {} });
      callMaxMs = Math.max(callMaxMs, performance.now() - t);
      if (r.result?.content?.[0]?.text === `hello from ${h.n}`) callsOk++;
    }));
    const outcomes: Record<string, number> = {};
    for (const o of Object.values(gateway.firstLists?.outcomes ?? {})) outcomes[o] = (outcomes[o] ?? 0) + 1;
    // The target: the list answers within routing.list_timeout (1 s) with every healthy upstream's tools, and their calls answer.
    const ok = listMs <= LIST_TIMEOUT_MS && tools.length === healthy * 3 && hellos.length === healthy && callsOk === healthy;
    return { scenario, upstreams: count, firstListMs, listMs, tools: tools.length, expectedTools: healthy * 3, callsOk, calls: hellos.length, callMaxMs, outcomes, ok };
  } finally {
    await gateway.close();
  }
}

/** The floor, then the three gateway scenarios; a wrong list or answer makes a row not ok. */
export async function runFanout(count = 20, log?: (s: string) => void): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  const steps: [string, () => Promise<FanoutRow>][] = [['direct', () => direct(count)], ...SCENARIOS.map(([s, m]) => [s, () => throughGateway(count, s, m)] as [string, () => Promise<FanoutRow>])];
  for (const [scenario, step] of steps) {
    const row = await step().catch((e: unknown) => ({ scenario, upstreams: count, firstListMs: Number.NaN, ok: false, error: e instanceof Error ? e.message : String(e) }));
    rows.push(row);
    log?.(`  fan-out ${describeFanout(row)}\n`);
  }
  return rows;
}

export function describeFanout(r: FanoutRow): string {
  if (r.error) return `${r.scenario}: FAILED: ${r.error}`;
  if (r.listMs === undefined) return `${r.scenario}: ${r.upstreams} children spawned and listed after ${Math.round(r.firstListMs)} ms`;
  return `${r.scenario}: first full list after ${Math.round(r.firstListMs)} ms, tools/list ${r.listMs.toFixed(1)} ms with ${r.tools}/${r.expectedTools} tools, ${r.callsOk}/${r.calls} healthy upstreams' calls answered (slowest ${r.callMaxMs?.toFixed(1)} ms); ${JSON.stringify(r.outcomes)}${r.ok ? '' : ' (WRONG)'}`;
}

export const FANOUT_HEAD = ['scenario', 'upstreams', 'first full list ms', 'tools/list ms', 'tools', 'healthy calls answered', 'slowest call ms', 'first-list outcomes', 'ok'];
export function fanoutCells(r: FanoutRow): string[] {
  const n = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  return [r.scenario, String(r.upstreams), n(r.firstListMs, 0), n(r.listMs, 1), r.tools === undefined ? '-' : `${r.tools}/${r.expectedTools}`, r.calls === undefined ? '-' : `${r.callsOk}/${r.calls}`, n(r.callMaxMs, 1),
    r.outcomes ? Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(', ') : '-', r.error ? `FAILED: ${r.error}` : r.ok ? 'yes' : 'WRONG'];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { upstreams: { type: 'string', default: '20' } } });
  const rows = await runFanout(Math.max(2, Math.min(100, Number(values.upstreams))), (s) => process.stdout.write(s));
  process.exit(rows.every((r) => r.ok) ? 0 : 1);
}
