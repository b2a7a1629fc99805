// The benchmarked servers: how to start each one as a child process, wait until it is ready, and stop it.
// Every child gets its own process group so that stopping it also stops the stdio upstream it spawned.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stdioChildren, type Transport } from './session.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EVERYTHING = 'node_modules/@modelcontextprotocol/server-everything/dist/index.js';
const MCP_PROXY = 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs';
const SUPERGATEWAY = 'node_modules/supergateway/dist/index.js';
const GATEWAY_BIN = 'bin/mcp-gateway.js';
const GATEWAY_SRC = 'src/cli/main.ts';

/** The processes the bench can start. */
export type ProcName = 'gateway' | 'direct' | 'direct-stdio' | 'mcp-proxy' | 'supergateway-sse' | 'supergateway-shttp' | 'nginx' | 'node-proxy';
/** What sits behind a proxy: a stdio child it spawns, or a shared Streamable HTTP server-everything. */
export type UpstreamKind = 'stdio' | 'shttp';

/** One measured target: a process, the client transport the load generator speaks to it, its upstream. */
export interface TargetDef {
  /** Unique label in tables and charts. */
  id: string;
  proc: ProcName;
  transport: Transport;
  upstream: UpstreamKind;
  /** Another project's proxy: its wrong answers are reported, ours fail the run. */
  peer?: boolean;
}

/** Everything `npm run bench` compares (nginx only where the binary is installed). */
export const TARGET_DEFS: readonly TargetDef[] = [
  { id: 'direct-stdio', proc: 'direct-stdio', transport: 'stdio', upstream: 'stdio' },
  { id: 'gateway/http', proc: 'gateway', transport: 'http', upstream: 'stdio' },
  { id: 'gateway/sse', proc: 'gateway', transport: 'sse', upstream: 'stdio' },
  { id: 'gateway/ws', proc: 'gateway', transport: 'ws', upstream: 'stdio' },
  { id: 'mcp-proxy', proc: 'mcp-proxy', transport: 'http', upstream: 'stdio', peer: true },
  { id: 'supergateway-sse', proc: 'supergateway-sse', transport: 'sse', upstream: 'stdio', peer: true },
  { id: 'supergateway-shttp', proc: 'supergateway-shttp', transport: 'http', upstream: 'stdio', peer: true },
  { id: 'direct', proc: 'direct', transport: 'http', upstream: 'shttp' },
  { id: 'nginx', proc: 'nginx', transport: 'http', upstream: 'shttp' },
  { id: 'node-proxy', proc: 'node-proxy', transport: 'http', upstream: 'shttp' },
  { id: 'gateway-shttp/http', proc: 'gateway', transport: 'http', upstream: 'shttp' },
];

/** The nginx binary, if installed. */
export function nginxBinary(): string | undefined {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(p)) return p;
  return undefined;
}

export interface Running {
  name: ProcName;
  pid: number;
  /** Endpoint for a transport (ws: without client_id; load.ts appends one per session). */
  url(t: Transport): string;
  stop(): Promise<void>;
  logTail(): string;
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
  /** Executable (default: this Node). */
  command?: string;
  args: string[];
  env?: Record<string, string>;
  /** GET this URL until `ready(status)`; absent for a stdio child (ready once spawned). */
  readyUrl?: string;
  ready?(status: number): boolean;
  captureStdout: boolean;
  /** Keep stdin/stdout as pipes for the load generator (a stdio server). */
  stdioServer?: boolean;
  /** The client endpoint of each transport. */
  url(t: Transport): string;
  cleanup?: () => void;
}

/** Every measured process gets the same GC hook (bench/gc-preload.cjs): heap after a full GC on SIGUSR2. */
export const GC_DIR = mkdtempSync(join(tmpdir(), 'bench-gc-'));
const GC_ENV = {
  BENCH_GC_DIR: GC_DIR,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --require ${join(ROOT, 'bench', 'gc-preload.cjs')}`.trim(),
};

async function launch(name: ProcName, spec: Spec, timeoutMs: number): Promise<Running> {
  const child = spawn(spec.command ?? process.execPath, spec.args, {
    cwd: ROOT,
    env: { ...process.env, ...(spec.command ? {} : GC_ENV), ...spec.env },
    stdio: [spec.stdioServer ? 'pipe' : 'ignore', spec.captureStdout || spec.stdioServer ? 'pipe' : 'ignore', 'pipe'],
    detached: true, // own process group: -pid reaches the upstream grandchild too
  });
  live.add(child);
  const tail = new Tail();
  if (!spec.stdioServer) child.stdout?.on('data', (b: Buffer) => tail.push(b));
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
    if (spec.stdioServer) stdioChildren.delete(`stdio://${child.pid}`);
    spec.cleanup?.();
  };
  const running: Running = { name, pid: child.pid!, url: spec.url, stop, logTail: () => tail.toString() };
  if (spec.stdioServer) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
    stdioChildren.set(`stdio://${child.pid}`, child);
    return running;
  }

  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !exited) {
    try {
      const r = await request(spec.readyUrl!, { method: 'GET', headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.dump();
      if (spec.ready!(r.statusCode)) return running;
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
// load; the peers have none) and room for the idle-session scenario; log files go to the temp dir.
const gatewayYaml = (logDir: string, upstreamUrl?: string, stdioArgs: string[] = [EVERYTHING, 'stdio'], extraStdioArgs?: string[]) => `profile: dev
logging: { level: warn, dir: ${JSON.stringify(logDir)} }
rate_limiting: { enabled: false }
server: { max_connections_per_client: 100000 }
session: { max_sessions_per_client: 100000 }
upstreams:
  - name: everything
${
  upstreamUrl
    ? `    transport: streamable_http
    url: ${JSON.stringify(upstreamUrl)}`
    : `    transport: stdio
    command: node
    args: ${JSON.stringify(stdioArgs)}`
}${
  extraStdioArgs
    ? `
  - name: second
    transport: stdio
    command: node
    args: ${JSON.stringify(extraStdioArgs)}`
    : ''
}
`;

// A plain L7 reverse proxy with keep-alive to the upstream and no buffering (SSE replies stream through).
const nginxConf = (dir: string, port: number, upstreamPort: number) => `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mcp { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 3600s;
    }
  }
}
`;

const httpUrl = (port: number, path = '/mcp') => (t: Transport) =>
  t === 'ws' ? `ws://127.0.0.1:${port}/mcp/ws` : t === 'phx' ? `ws://127.0.0.1:${port}/mcp/ws/websocket?vsn=2.0.0` : t === 'sse' ? `http://127.0.0.1:${port}${path}` : `http://127.0.0.1:${port}/mcp`;

/** The shared Streamable HTTP upstream (server-everything `streamableHttp`): also the `direct` target. */
export function startShttpUpstream(timeoutMs = 60_000): Promise<Running> {
  return startTarget('direct', { timeoutMs });
}

/**
 * Start a process on a free loopback port and wait until it answers. `gatewaySrc` runs the gateway from
 * src/ through tsx (no build needed; slower startup, same steady state apart from tsx's loader hooks).
 * `upstreamUrl`: the Streamable HTTP upstream of a gateway or nginx.
 */
export async function startTarget(
  name: ProcName,
  opts: { gatewaySrc?: boolean; timeoutMs?: number; upstreamUrl?: string; /** node arguments of the gateway's stdio upstream */ stdioArgs?: string[]; /** a second stdio upstream */ secondStdioArgs?: string[] } = {},
): Promise<Running> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  switch (name) {
    case 'gateway': {
      const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));
      const config = join(dir, 'gateway.yaml');
      writeFileSync(config, gatewayYaml(dir, opts.upstreamUrl, opts.stdioArgs, opts.secondStdioArgs));
      return launch(
        name,
        {
          args: [...(opts.gatewaySrc ? ['--import', 'tsx', GATEWAY_SRC] : [GATEWAY_BIN]), 'start', '--config', config, '--port', String(port), '--host', '127.0.0.1'],
          readyUrl: `${base}/health`,
          ready: (s) => s === 200,
          captureStdout: true,
          url: httpUrl(port, '/mcp/sse'),
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
        { args: [EVERYTHING, 'streamableHttp'], env: { PORT: String(port) }, readyUrl: `${base}/mcp`, ready: (s) => s > 0, captureStdout: false, url: httpUrl(port) },
        timeoutMs,
      );
    case 'direct-stdio':
      // The load generator writes to its stdin itself (session.ts StdioSession): no proxy at all.
      return launch(name, { args: [EVERYTHING, 'stdio'], captureStdout: false, stdioServer: true, url: () => '' }, timeoutMs).then((r) => ({
        ...r,
        url: () => `stdio://${r.pid}`,
      }));
    case 'mcp-proxy':
      // mcp-proxy listens only after its stdio upstream is connected; GET /ping answers "pong".
      return launch(
        name,
        {
          args: [MCP_PROXY, '--port', String(port), '--host', '127.0.0.1', '--', 'node', EVERYTHING, 'stdio'],
          readyUrl: `${base}/ping`,
          ready: (s) => s === 200,
          captureStdout: true,
          url: httpUrl(port),
        },
        timeoutMs,
      );
    case 'supergateway-sse':
    case 'supergateway-shttp': {
      // One stdio child shared by all SSE clients; stateful Streamable HTTP spawns one child per session.
      const out = name === 'supergateway-sse' ? ['--outputTransport', 'sse'] : ['--outputTransport', 'streamableHttp', '--stateful'];
      return launch(
        name,
        {
          args: [SUPERGATEWAY, '--stdio', `node ${EVERYTHING} stdio`, ...out, '--port', String(port), '--logLevel', 'none', '--healthEndpoint', '/healthz'],
          readyUrl: `${base}/healthz`,
          ready: (s) => s === 200,
          captureStdout: true,
          url: httpUrl(port, '/sse'),
        },
        timeoutMs,
      );
    }
    case 'node-proxy':
      // bench/node-proxy.mjs: a plain Node.js L7 forwarder, the floor of any proxy written for Node. Ready when
      // it relays any HTTP answer of the upstream.
      if (!opts.upstreamUrl) throw new Error('node-proxy needs an upstream URL');
      return launch(
        name,
        { args: [join(ROOT, 'bench', 'node-proxy.mjs'), String(port), new URL(opts.upstreamUrl).origin], readyUrl: `${base}/mcp`, ready: (s) => s > 0 && s !== 502, captureStdout: true, url: httpUrl(port) },
        timeoutMs,
      );
    case 'nginx': {
      const bin = nginxBinary();
      if (!bin) throw new Error('nginx not ready: not installed');
      if (!opts.upstreamUrl) throw new Error('nginx needs an upstream URL');
      const dir = mkdtempSync(join(tmpdir(), 'nginx-bench-'));
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, nginxConf(dir, port, Number(new URL(opts.upstreamUrl).port)));
      return launch(
        name,
        {
          command: bin,
          args: ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')],
          readyUrl: `${base}/mcp`,
          ready: (s) => s > 0 && s !== 502,
          captureStdout: true,
          url: httpUrl(port),
          cleanup: () => rmSync(dir, { recursive: true, force: true }),
        },
        timeoutMs,
      );
    }
  }
}
