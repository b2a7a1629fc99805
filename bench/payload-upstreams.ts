// The large-payload scenario (bench/payload.ts) over one client transport for each upstream kind: the
// 5 MiB result from a stdio upstream, and from a Streamable HTTP one answering as an SSE event or a JSON
// body (ADR 0240). Rounds alternate between the kinds; every row is printed, then the medians.
//   node --import tsx bench/payload-upstreams.ts [--mb 5] [--rounds 3] [--transport http] [--upstreams stdio,shttp-sse,shttp-json] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runPayload, type PayloadRow, type PayloadUpstream } from './payload.js';
import type { Transport } from './session.js';

const { values: flags } = parseArgs({
  options: {
    mb: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    transport: { type: 'string', default: 'http' },
    upstreams: { type: 'string', default: 'stdio,shttp-sse,shttp-json' },
    json: { type: 'string' },
  },
});
const kinds = flags.upstreams!.split(',') as PayloadUpstream[];
const rows: Array<PayloadRow & { upstream: PayloadUpstream }> = [];
for (let r = 0; r < Number(flags.rounds); r++) {
  for (const upstream of kinds) {
    const row = await runPayload({ transport: flags.transport as Transport, payloadMB: Number(flags.mb), gatewaySrc: true, upstream }).catch((e: unknown) => ({ transport: flags.transport as Transport, payloadMB: Number(flags.mb), error: String(e) }) as PayloadRow);
    rows.push({ upstream, ...row });
  }
}
const f = (x: number | undefined) => (x === undefined ? undefined : Number(x.toFixed(1)));
console.table(rows.map((r) => ({ upstream: r.upstream, relayMs: f(r.relayMs), cpuMsPerMB: f(r.cpuMsPerMB), rssGrowthMB: f(r.rssGrowthMB), ratio: f(r.rssGrowthMB === undefined ? undefined : r.rssGrowthMB / r.payloadMB), otherMaxMs: f(r.otherMaxMs), loopMaxMs: f(r.gatewayLoopMaxMs), loopIdleMaxMs: f(r.gatewayLoopIdleMaxMs), met: r.met, error: r.error })));
const median = (xs: number[]) => {
  const x = xs.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return x.length === 0 ? undefined : x.length % 2 ? x[(x.length - 1) / 2]! : (x[x.length / 2 - 1]! + x[x.length / 2]!) / 2;
};
const summary = Object.fromEntries(kinds.map((k) => {
  const mine = rows.filter((r) => r.upstream === k);
  const m = (pick: (r: PayloadRow) => number | undefined) => f(median(mine.map((r) => pick(r) ?? NaN)));
  return [k, { rssGrowthMB: m((r) => r.rssGrowthMB), cpuMsPerMB: m((r) => r.cpuMsPerMB), otherMaxMs: m((r) => r.otherMaxMs), relayMs: m((r) => r.relayMs) }];
}));
console.log(JSON.stringify(summary));
if (flags.json) writeFileSync(flags.json, JSON.stringify({ summary, rows }, null, 2));
if (rows.some((r) => r.error)) process.exitCode = 1;
