/**
 * The live console's cost: the gateway's CPU (utime+stime of its process,
 * from /proc) over equal windows with no console open and with one open
 * (a reader of /dashboard/stream in this process, so reading costs the
 * gateway nothing), alternating to spread the host's noise, idle and under
 * a steady load of echo calls.
 *
 *   node --import tsx bench/console-cpu.ts [window seconds, default 15] [rounds, default 2]
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { sampleProc } from "./procstat.js";
import { startTraffic } from "../test/dashboard/traffic.js";

const windowS = Number(process.argv[2] ?? 15);
const rounds = Number(process.argv[3] ?? 2);

const child = spawn(process.execPath, ["--import", "tsx", "bench/console-gateway.ts"], { stdio: ["ignore", "pipe", "inherit"] });
const [line] = (await once(child.stdout!, "data")) as [Buffer];
const url = line.toString().trim();

async function cpuOver(seconds: number): Promise<number> {
  const a = sampleProc(child.pid!)!;
  await delay(seconds * 1000);
  const b = sampleProc(child.pid!)!;
  return (b.cpuMs - a.cpuMs) / seconds; // ms of CPU per second = thousandths of one core
}

function openConsole() {
  const ac = new AbortController();
  let bytes = 0;
  const tickMs: number[] = [];
  const done = fetch(`${url}/dashboard/stream`, { signal: ac.signal }).then(async (res) => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      bytes += value.length;
      // The gateway's own account of each tick (sampling + serialising), from the state frames.
      for (const m of value.matchAll(/"tick_ms":([\d.]+)/g)) tickMs.push(Number(m[1]));
    }
  }).catch(() => {});
  return { close: async () => (ac.abort(), await done), get bytes() { return bytes; }, tickMs };
}

async function scenario(name: string): Promise<void> {
  const none: number[] = [];
  const one: number[] = [];
  let streamed = 0;
  const ticks: number[] = [];
  for (let r = 0; r < rounds; r++) {
    none.push(await cpuOver(windowS));
    const c = openConsole();
    await delay(1500); // the first frames (history) are a one-off; measure the steady state
    one.push(await cpuOver(windowS));
    streamed += c.bytes;
    ticks.push(...c.tickMs.filter((x) => x > 0));
    await c.close();
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`${name}: no console ${avg(none).toFixed(1)} ms CPU/s, one console ${avg(one).toFixed(1)} ms CPU/s, extra ${(avg(one) - avg(none)).toFixed(1)} ms/s (${((avg(one) - avg(none)) / 10).toFixed(2)}% of a core); stream ${(streamed / rounds / (windowS + 1.5) / 1024).toFixed(1)} KB/s`);
  ticks.sort((a, b) => a - b);
  console.log(`  each 1 s tick took ${avg(ticks).toFixed(2)} ms on average (median ${ticks[Math.floor(ticks.length / 2)]?.toFixed(2)} ms, max ${ticks.at(-1)?.toFixed(2)} ms, ${ticks.length} ticks)`);
  console.log(`  windows none=[${none.map((x) => x.toFixed(1)).join(", ")}] one=[${one.map((x) => x.toFixed(1)).join(", ")}]`);
}

try {
  await delay(2000);
  await scenario("idle");
  const traffic = await startTraffic(url, { http: 4, sse: 0, ws: 2, paceMs: 20 });
  await delay(2000);
  await scenario("under load");
  const calls = traffic.calls;
  await traffic.stop();
  console.log(`  (load: ${calls} calls in total)`);
} finally {
  child.kill("SIGTERM");
}
