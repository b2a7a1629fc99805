// CPU time and RSS of a process (Linux only), read from /proc/<pid>/stat and /proc/<pid>/status.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clkTck = 0;
/** Clock ticks per second used by utime/stime in /proc/<pid>/stat (almost always 100). */
export function clockTicks(): number {
  if (clkTck > 0) return clkTck;
  try {
    clkTck = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim(), 10);
  } catch {
    clkTck = 0;
  }
  if (!Number.isFinite(clkTck) || clkTck <= 0) clkTck = 100;
  return clkTck;
}

export interface ProcSample {
  pid: number;
  /** utime + stime of the process itself (not of waited-for children), in ms. */
  cpuMs: number;
  rssBytes: number;
}

/** One sample, or undefined if the process is gone / /proc is unavailable. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and ')' : split after the LAST ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(rest[11]) + Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { pid, cpuMs: (ticks * 1000) / clockTicks(), rssBytes: m ? Number(m[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Direct children of pid, from /proc/<pid>/task/<tid>/children. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let txt = '';
      try {
        txt = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const s of txt.split(' ')) if (s.trim()) out.push(Number(s));
    }
  } catch {
    /* process gone */
  }
  return out;
}

/** All descendants of pid (breadth first, bounded). */
export function descendantPids(pid: number, max = 256): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < max) {
    for (const c of childPids(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Command line of pid, arguments joined by spaces ('' if gone). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Summed CPU ms and RSS of a set of pids (missing pids are skipped). */
export function sampleMany(pids: number[]): { cpuMs: number; rssBytes: number; alive: number } {
  let cpuMs = 0;
  let rssBytes = 0;
  let alive = 0;
  for (const p of pids) {
    const s = sampleProc(p);
    if (!s) continue;
    cpuMs += s.cpuMs;
    rssBytes += s.rssBytes;
    alive++;
  }
  return { cpuMs, rssBytes, alive };
}

/** Median RSS over `count` samples taken `intervalMs` apart. */
export async function medianRss(pid: number, count = 5, intervalMs = 100): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < count; i++) {
    const s = sampleProc(pid);
    if (s) xs.push(s.rssBytes);
    if (i < count - 1) await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (xs.length === 0) return Number.NaN;
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}
