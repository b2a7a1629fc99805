// The benchmarked servers: how to start each one as a child process, wait until it is ready, and stop it.
// Every child gets its own process group so that stopping it also stops the stdio upstream it spawned.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { Transport } from './session.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EVERYTHING = 'node_modules/@modelcontextprotocol/server-everything/dist/index.js';
const MCP_PROXY = 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs';
const GATEWAY_BIN = 'bin/mcp-gateway.js';
const GATEWAY_SRC = 'src/cli/main.ts';

export type TargetName = 'gateway' | 'direct' | 'mcp-proxy';
export const TARGETS: readonly TargetName[] = ['gateway', 'direct', 'mcp-proxy'];

export interface Running {
  name: TargetName;
  pid: number;
  /** Endpoint for a transport (ws: without client_id; load.ts appends one per session). */
  url(t: Transport): string;
  stop(): Promise<void>;
  logTail(): string;
}

export function supports(name: TargetName, t: Transport): boolean {
  return t === 'http' || name === 'gateway';
}

const live = new Set<ChildProcess>();

/** SIGKILL every child process group still running (for exit / signal handlers; synchronous). */
export function killAllNow(): void {
  for (const c of live) killGroup(c, 'SIGKILL');
  live.clear();
}

function killGroup(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, sig);
  } catch {
    try {
      c.kill(sig);
    } catch {
      /* gone */
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

class Tail {
  private buf = '';
  push(b: Buffer): void {
    this.buf = (this.buf + b.toString('utf8')).slice(-4000);
  }
  toString(): string {
    return this.buf;
  }
}

interface Spec {
  args: string[];
  env?: Record<string, string>;
  /** GET this URL until `ready(status)`. */
  readyUrl: string;
  ready(status: number): boolean;
  captureStdout: boolean;
  cleanup?: () => void;
}

/** Every measured process gets the same GC hook (bench/gc-preload.cjs): heap after a full GC on SIGUSR2. */
export const GC_DIR = mkdtempSync(join(tmpdir(), 'bench-gc-'));
const GC_ENV = {
  BENCH_GC_DIR: GC_DIR,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${join(ROOT, 'bench', 'gc-preload.cjs')}`.trim(),
};

async function launch(name: TargetName, port: number, spec: Spec, timeoutMs: number): Promise<Running> {
  const child = spawn(process.execPath, spec.args, {
    cwd: ROOT,
    env: { ...process.env, ...GC_ENV, ...spec.env },
    stdio: ['ignore', spec.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    detached: true, // own process group: -pid reaches the upstream grandchild too
  });
  live.add(child);
  const tail = new Tail();
  child.stdout?.on('data', (b: Buffer) => tail.push(b));
  child.stderr?.on('data', (b: Buffer) => tail.push(b));
  let exited = false;
  const exitP = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      r();
    }),
  );
  child.once('error', (e) => tail.push(Buffer.from(`spawn error: ${e.message}\n`)));

  const stop = async (): Promise<void> => {
    killGroup(child, 'SIGTERM');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await Promise.race([exitP, new Promise((r) => setTimeout(r, 5000).unref())]);
    clearTimeout(t);
    killGroup(child, 'SIGKILL'); // stragglers in the group (e.g. the upstream) if the leader exited first
    spec.cleanup?.();
  };

  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !exited) {
    try {
      const r = await request(spec.readyUrl, { method: 'GET', headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.dump();
      if (spec.ready(r.statusCode)) {
        return {
          name,
          pid: child.pid!,
          url: (t) => (t === 'ws' ? `ws://127.0.0.1:${port}/mcp/ws` : `http://127.0.0.1:${port}/mcp`),
          stop,
          logTail: () => tail.toString(),
        };
      }
      last = `HTTP ${r.statusCode}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(
    `${name} not ready after ${timeoutMs} ms (${exited ? `exited with ${child.exitCode ?? child.signalCode}` : last})\n--- output tail ---\n${tail}`,
  );
}

// The brief's config, plus: no rate limiting (its default, 100 requests/min per client, would throttle the
// load; mcp-proxy has none) and room for the idle-session scenario; log files go to the temp dir.
const gatewayYaml = (logDir: string) => `profile: dev
logging: { level: warn, dir: ${JSON.stringify(logDir)} }
rate_limiting: { enabled: false }
server: { max_connections_per_client: 100000 }
upstreams:
  - name: everything
    transport: stdio
    command: node
    args: ["${EVERYTHING}", "stdio"]
`;

/**
 * Start a target on a free loopback port and wait until it answers. `gatewaySrc` runs the gateway from
 * src/ through tsx (no build needed; slower startup, same steady state apart from tsx's loader hooks).
 */
export async function startTarget(name: TargetName, opts: { gatewaySrc?: boolean; timeoutMs?: number } = {}): Promise<Running> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  switch (name) {
    case 'gateway': {
      const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));
      const config = join(dir, 'gateway.yaml');
      writeFileSync(config, gatewayYaml(dir));
      return launch(
        name,
        port,
        {
          args: [...(opts.gatewaySrc ? ['--import', 'tsx', GATEWAY_SRC] : [GATEWAY_BIN]), 'start', '--config', config, '--port', String(port), '--host', '127.0.0.1'],
          readyUrl: `${base}/health`,
          ready: (s) => s === 200,
          captureStdout: true,
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        },
        timeoutMs,
      );
    }
    case 'direct':
      // server-everything reads PORT (binds all interfaces; we only talk to 127.0.0.1). It logs every
      // request with console.log, so stdout is discarded. No health route: any HTTP answer on /mcp is ready.
      return launch(
        name,
        port,
        { args: [EVERYTHING, 'streamableHttp'], env: { PORT: String(port) }, readyUrl: `${base}/mcp`, ready: (s) => s > 0, captureStdout: false },
        timeoutMs,
      );
    case 'mcp-proxy':
      // mcp-proxy listens only after its stdio upstream is connected; GET /ping answers "pong".
      return launch(
        name,
        port,
        {
          args: [MCP_PROXY, '--port', String(port), '--host', '127.0.0.1', '--', 'node', EVERYTHING, 'stdio'],
          readyUrl: `${base}/ping`,
          ready: (s) => s === 200,
          captureStdout: true,
        },
        timeoutMs,
      );
  }
}
