// The floor under the HTTP+SSE and Streamable HTTP GET-stream rows of bench/memory.ts: RSS per idle connection of a
// bare node:http server (bench/sse-floor-server.mjs: no MCP, no gateway code) holding N SSE responses with the
// gateway's SSE headers. By default its young generation is capped as the gateway caps it (src/cli/young-generation.ts:
// `--max-semi-space-size=2`); `--v8-default` leaves V8's own. Least-squares slope of RSS over open connections, 4 steps.
//   node --import tsx bench/sse-floor.ts [--connections 2000,10000] [--v8-default]
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { slope } from './memory.js';
import { medianRss } from './procstat.js';
import { ROOT } from './targets.js';

const STEPS = 4;
const KB = 1024;
const MB = 1024 * 1024;

export interface SseFloorRow {
  connections: number;
  /** Young generation capped as the gateway's (a 2 MB semi-space), or V8's own. */
  capped: boolean;
  beforeMB: number;
  afterMB: number;
  kbPerConnection: number;
  error?: string;
}

/** RSS per idle SSE connection of a bare node:http server at `n` connections. */
export async function runSseFloor(n: number, capped = true): Promise<SseFloorRow> {
  const args = [...(capped ? ['--max-semi-space-size=2'] : []), join(ROOT, 'bench', 'sse-floor-server.mjs')];
  const server = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const sockets: Socket[] = [];
  try {
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const port = Number(String(line).trim());
    // The same first responses as the gateway's bench gets (its /health polls): the server's first objects are not held.
    for (let i = 0; i < 10; i++) await (await request(`http://127.0.0.1:${port}/rss`)).body.text();
    const open = async (count: number): Promise<void> => {
      const started: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        const s = connect(port, '127.0.0.1', () => s.write(`GET /sse HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`));
        sockets.push(s);
        started.push(once(s, 'data'));
        if (started.length >= 200) await Promise.all(started.splice(0));
      }
      await Promise.all(started);
    };
    await open(20);
    const xs = [sockets.length];
    const ys = [await medianRss(server.pid!, 5, 60)];
    for (let step = 1; step <= STEPS; step++) {
      await open(Math.round((n * step) / STEPS) - Math.round((n * (step - 1)) / STEPS));
      await new Promise((r) => setTimeout(r, 300));
      xs.push(sockets.length);
      ys.push(await medianRss(server.pid!, 5, 60));
    }
    return { connections: sockets.length, capped, beforeMB: ys[0]! / MB, afterMB: ys.at(-1)! / MB, kbPerConnection: slope(xs, ys) / KB };
  } finally {
    for (const s of sockets) s.destroy();
    server.kill('SIGKILL');
  }
}

export const describeSseFloor = (r: SseFloorRow): string =>
  r.error ? `bare node:http, ${r.connections} idle SSE connections: FAILED: ${r.error}` : `bare node:http, ${r.connections} idle SSE connections (${r.capped ? 'young generation capped at 4 MB, as the gateway' : "V8's own young generation"}): RSS ${r.beforeMB.toFixed(1)} -> ${r.afterMB.toFixed(1)} MB, ${r.kbPerConnection.toFixed(1)} KB per connection`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values: flags } = parseArgs({ options: { connections: { type: 'string', default: '2000,10000' }, 'v8-default': { type: 'boolean', default: false } } });
  for (const n of flags.connections!.split(',').map(Number)) console.log(describeSseFloor(await runSseFloor(n, !flags['v8-default'])));
}
