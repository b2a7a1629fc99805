// Fan-out cold start (issue 16, ADR 0210): a gateway (in this process) with 20 stdio upstreams
// (test/fixtures/fanout-server.mjs, real SDK servers spawned in parallel): all healthy, one that
// never answers its lists, one that never answers at all. Reports the time from listen() to the
// first full list and each upstream's outcome, and checks a client's tools/list; first the same children
// spawned and listed directly by SDK clients (the floor the gateway cannot beat).
//   node --import tsx bench/fanout.ts [--upstreams 20]
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { validateConfig } from '../src/config/index.js';
import { startGateway } from '../src/gateway.js';

const { values } = parseArgs({ options: { upstreams: { type: 'string', default: '20' } } });
const count = Math.max(2, Math.min(100, Number(values.upstreams)));
const up = (n: number, mode?: string) => ({ name: `f${n}`, transport: 'stdio' as const, command: process.execPath, args: ['test/fixtures/fanout-server.mjs', String(n), ...(mode ? [mode] : [])], protocol: 'legacy' as const });
let failed = false;
// The floor: the same children spawned and listed directly by SDK clients, all at once (no gateway).
{
  const t0 = performance.now();
  const clients = await Promise.all(Array.from({ length: count }, async (_, n) => {
    const c = new Client({ name: 'bench-direct', version: '1' });
    await c.connect(new StdioClientTransport({ command: process.execPath, args: ['test/fixtures/fanout-server.mjs', String(n)] }));
    await c.listTools();
    return c;
  }));
  console.log(`direct (no gateway): ${count} children spawned and listed after ${Math.round(performance.now() - t0)} ms`);
  await Promise.all(clients.map((c) => c.close()));
}
for (const [label, mode] of [['all healthy', undefined], ['one stalls its lists', '--stall-lists'], ['one never answers', '--silent']] as const) {
  const upstreams = Array.from({ length: count }, (_, n) => up(n, n === count - 1 ? mode : undefined));
  const t0 = performance.now();
  const { gateway, url } = await startGateway(validateConfig({ server: { port: 0, host: '127.0.0.1' }, logging: { dir: '', stdout: false }, upstreams }));
  const openMs = performance.now() - t0;
  const init = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  const t1 = performance.now();
  const list = await (await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) })).json();
  const listMs = performance.now() - t1;
  const healthy = mode ? count - 1 : count;
  const ok = list.result?.tools?.length === healthy * 3;
  failed ||= !ok;
  const outcomes: Record<string, number> = {};
  for (const o of Object.values(gateway.firstLists?.outcomes ?? {})) outcomes[o] = (outcomes[o] ?? 0) + 1;
  console.log(`${label}: first full list after ${Math.round(openMs)} ms (gateway: ${gateway.firstLists?.ms} ms), tools/list ${listMs.toFixed(1)} ms with ${list.result?.tools?.length} tools${ok ? '' : ' (WRONG)'}; ${JSON.stringify(outcomes)}`);
  await gateway.close();
}
process.exit(failed ? 1 : 0);
