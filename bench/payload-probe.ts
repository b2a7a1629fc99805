// The "other client" of bench/payload.ts, in its own process so that the load generator's own work on
// the large reply (parsing 5 MB) does not show up as the gateway's stall. Calls echo back to back on one
// session; stdin `mark` starts the measured window, `report` prints {maxMs, calls, baselineP50Ms} and exits.
//   node --import tsx bench/payload-probe.ts <url> <http|sse|ws>
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { checkEcho, openSessions, type Transport } from './session.js';

const [url, transport] = process.argv.slice(2) as [string, Transport];
const set = await openSessions(url, transport, 1, { timeoutMs: 30_000 });
const s = set.sessions[0];
if (!s) throw new Error(`probe session failed: ${JSON.stringify(set.initErrors)}`);
const baseline: number[] = [];
let marked = false;
let maxMs = 0;
let calls = 0;
let stop = false;
const loop = (async () => {
  for (let id = 1; !stop && id < 1_000_000; id++) {
    const t = performance.now();
    checkEcho(await s.rpc(id, `,"method":"tools/call","params":{"name":"echo","arguments":{"message":"<${id}>"}}}`), `<${id}>`);
    const ms = performance.now() - t;
    if (!marked) baseline.push(ms);
    else (maxMs = Math.max(maxMs, ms)), calls++;
  }
})();
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'mark') marked = true;
  if (line === 'report') {
    stop = true;
    await loop;
    baseline.sort((a, b) => a - b);
    console.log(JSON.stringify({ maxMs, calls, baselineP50Ms: baseline[baseline.length >> 1] }));
    await set.close();
    process.exit(0);
  }
}
