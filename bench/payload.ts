// Large payloads: one tools/call whose result is `payloadMB` MiB of text, relayed by the gateway (stdio
// upstream bench/payload-server.mts) to a client on one transport, while another client on the same
// transport keeps calling echo on a second upstream (so only the gateway is shared, not the pipe). Reports the gateway's peak RSS growth (sampled every 10 ms), its CPU per
// MB relayed, and the other client's slowest call during the transfer (where an event-loop stall shows).
import { performance } from 'node:perf_hooks';
import { sampleProc } from './procstat.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BenchError, checkCallReply, openSessions, sleep, type Transport } from './session.js';
import { ROOT, startTarget } from './targets.js';

/** The other client (bench/payload-probe.ts) in its own process. */
async function startProbe(url: string, transport: Transport): Promise<{ send(cmd: string): void; report(): Promise<{ maxMs: number; calls: number; baselineP50Ms: number }> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/payload-probe.ts', url, transport], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`probe: ${first.value}`);
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return {
    send: (cmd) => void child.stdin!.write(`${cmd}\n`),
    async report() {
      child.stdin!.write('report\n');
      const line = await lines.next();
      clearTimeout(kill);
      return JSON.parse(String(line.value)) as { maxMs: number; calls: number; baselineP50Ms: number };
    },
  };
}

/** One transport's result. */
export interface PayloadRow {
  transport: Transport;
  payloadMB: number;
  /** Send to reply of the large call. */
  relayMs?: number;
  cpuMsPerMB?: number;
  rssGrowthMB?: number;
  /** Slowest echo of the other client that overlapped the large call. */
  otherMaxMs?: number;
  otherBaselineP50Ms?: number;
  otherCalls?: number;
  /** The gateway's own longest event-loop delay over the transfer (admin status, 20 ms resolution): the stall without the machine's noise. */
  gatewayLoopMaxMs?: number;
  /** The same over the probe's idle baseline (no large call). */
  gatewayLoopIdleMaxMs?: number;
  /** RSS growth at most 3x the payload and no other-client call over 50 ms. */
  met?: boolean;
  error?: string;
}

const MB = 1024 * 1024;

/** The gateway's event-loop report since the previous call (dev profile admin token). */
async function loopMaxMs(url: string): Promise<number | undefined> {
  const res = await fetch(`${new URL(url).origin.replace(/^ws/, 'http')}/mcp/admin/status`, { headers: { authorization: 'Bearer admin-token' } }).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { event_loop?: { delay_max_ms?: number } }).event_loop?.delay_max_ms;
}

/** Runs the scenario on a fresh gateway (one per transport, so RSS growth starts from the same state). */
export async function runPayload(o: { transport: Transport; payloadMB: number; gatewaySrc?: boolean }): Promise<PayloadRow> {
  const r = await startTarget('gateway', { gatewaySrc: o.gatewaySrc, stdioArgs: ['--import', 'tsx', 'bench/payload-server.mts'],
    secondStdioArgs: ['--import', 'tsx', 'bench/payload-server.mts', '--echo'],
  });
  try {
    const url = r.url(o.transport);
    const set = await openSessions(url, o.transport, 1, { timeoutMs: 30_000 });
    try {
      if (set.sessions.length < 1) throw new Error(`sessions failed: ${JSON.stringify(set.initErrors)}`);
      const big = set.sessions[0]!;
      const bigTail = (mb: number) => `,"method":"tools/call","params":{"name":"big","arguments":{"mb":${mb}}}}`;
      let id = 1;
      // Warm up (JIT, the upstream's cached string) with a small and a full-size call.
      checkCallReply(await big.rpc(id++, bigTail(0.01)));
      checkCallReply(await big.rpc(id++, bigTail(o.payloadMB)));
      const probe = await startProbe(url, o.transport);
      await loopMaxMs(url);
      await sleep(700); // the probe's baseline calls
      // The same figure with only the probe's calls: the floor the machine's scheduling sets.
      const gatewayLoopIdleMaxMs = await loopMaxMs(url);
      const before = sampleProc(r.pid);
      if (!before) throw new Error('gateway gone');
      let peak = before.rssBytes;
      const sampler = setInterval(() => (peak = Math.max(peak, sampleProc(r.pid)?.rssBytes ?? 0)), 10);
      await loopMaxMs(url);
      probe.send('mark');
      const t0 = performance.now();
      const reply = checkCallReply(await big.rpc(id++, bigTail(o.payloadMB)));
      const relayMs = performance.now() - t0;
      clearInterval(sampler);
      const after = sampleProc(r.pid);
      const gatewayLoopMaxMs = await loopMaxMs(url);
      const other = await probe.report();
      const text = (reply.result!.content as Array<{ text?: string }>)[0]?.text;
      if (text?.length !== Math.round(o.payloadMB * MB)) throw new BenchError('wrong_answer', `big result of ${text?.length} chars`);
      peak = Math.max(peak, after?.rssBytes ?? 0);
      const rssGrowthMB = (peak - before.rssBytes) / MB;
      const cpuMsPerMB = after ? (after.cpuMs - before.cpuMs) / o.payloadMB : undefined;
      return {
        transport: o.transport,
        payloadMB: o.payloadMB,
        relayMs,
        cpuMsPerMB,
        rssGrowthMB,
        otherMaxMs: other.maxMs,
        otherBaselineP50Ms: other.baselineP50Ms,
        otherCalls: other.calls,
        gatewayLoopMaxMs,
        gatewayLoopIdleMaxMs,
        met: rssGrowthMB <= 3 * o.payloadMB && other.maxMs <= 50,
      };
    } finally {
      await set.close();
    }
  } finally {
    await r.stop();
  }
}
