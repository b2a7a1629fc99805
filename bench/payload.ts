// Large payloads: one tools/call whose result is `payloadMB` MiB of text, relayed by the gateway (stdio
// upstream bench/payload-server.mts) to a client on one transport, while another client on the same
// transport keeps calling echo. Reports the gateway's peak RSS growth (sampled every 10 ms), its CPU per
// MB relayed, and the other client's slowest call during the transfer (where an event-loop stall shows).
import { performance } from 'node:perf_hooks';
import { sampleProc } from './procstat.js';
import { BenchError, checkCallReply, checkEcho, openSessions, sleep, type Transport } from './session.js';
import { startTarget } from './targets.js';

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
  /** RSS growth at most 3x the payload and no other-client call over 50 ms. */
  met?: boolean;
  error?: string;
}

const MB = 1024 * 1024;

/** Runs the scenario on a fresh gateway (one per transport, so RSS growth starts from the same state). */
export async function runPayload(o: { transport: Transport; payloadMB: number; gatewaySrc?: boolean }): Promise<PayloadRow> {
  const r = await startTarget('gateway', { gatewaySrc: o.gatewaySrc, stdioArgs: ['--import', 'tsx', 'bench/payload-server.mts'] });
  try {
    const url = r.url(o.transport);
    const set = await openSessions(url, o.transport, 2, { timeoutMs: 30_000 });
    try {
      if (set.sessions.length < 2) throw new Error(`sessions failed: ${JSON.stringify(set.initErrors)}`);
      const [big, other] = set.sessions as [(typeof set.sessions)[0], (typeof set.sessions)[0]];
      // Tool names may carry the upstream prefix when the gateway shortens/prefixes; the only upstream is ours.
      const bigTail = (mb: number) => `,"method":"tools/call","params":{"name":"big","arguments":{"mb":${mb}}}}`;
      let id = 1;
      // Warm up both paths (JIT, upstream's cached string) with a small and a full-size call.
      checkCallReply(await big.rpc(id++, bigTail(0.01)));
      checkCallReply(await big.rpc(id++, bigTail(o.payloadMB)));
      await sleep(500);
      // The other client's baseline.
      const base: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        checkEcho(await other.rpc(1_000_000 + i, `,"method":"tools/call","params":{"name":"echo","arguments":{"message":"<b${i}>"}}}`), `<b${i}>`);
        base.push(performance.now() - t);
      }
      base.sort((a, b) => a - b);
      const before = sampleProc(r.pid);
      if (!before) throw new Error('gateway gone');
      let peak = before.rssBytes;
      const sampler = setInterval(() => (peak = Math.max(peak, sampleProc(r.pid)?.rssBytes ?? 0)), 10);
      let bigDone = false;
      let otherMax = 0;
      let otherCalls = 0;
      const otherLoop = (async () => {
        let i = 0;
        while (!bigDone && i < 10_000) {
          const t = performance.now();
          checkEcho(await other.rpc(2_000_000 + i, `,"method":"tools/call","params":{"name":"echo","arguments":{"message":"<o${i}>"}}}`), `<o${i}>`);
          otherMax = Math.max(otherMax, performance.now() - t);
          otherCalls++;
          i++;
        }
      })();
      const t0 = performance.now();
      const reply = checkCallReply(await big.rpc(id++, bigTail(o.payloadMB)));
      const relayMs = performance.now() - t0;
      bigDone = true;
      await otherLoop;
      clearInterval(sampler);
      const after = sampleProc(r.pid);
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
        otherMaxMs: otherMax,
        otherBaselineP50Ms: base[base.length >> 1],
        otherCalls,
        met: rssGrowthMB <= 3 * o.payloadMB && otherMax <= 50,
      };
    } finally {
      await set.close();
    }
  } finally {
    await r.stop();
  }
}
