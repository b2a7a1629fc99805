// The memory scenario's load generator (bench/memory.ts starts it as a child process and steers it over IPC).
// It holds thousands of idle sessions with as little of its own memory as it can: every stream is a raw
// net.Socket (HTTP/1.1 request written by hand, chunked SSE or WebSocket frames parsed in place), the short
// POSTs go through one small undici Pool, and a session is a few fields. Only 127.0.0.1.
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

/** Stream-holding kinds plus the stream-less Streamable HTTP session. */
export type MemTransport = 'sse' | 'ws' | 'phoenix' | 'http-get' | 'http';
export const MEM_TRANSPORTS: readonly MemTransport[] = ['sse', 'ws', 'phoenix', 'http-get', 'http'];

/** Commands from bench/memory.ts. */
export type LoadCommand =
  | { op: 'open'; transport: MemTransport; n: number }
  | { op: 'call'; transport: MemTransport; tool: string }
  | { op: 'stop' };
export interface LoadReply {
  ok: boolean;
  done: number;
  failed: number;
  kinds: Record<string, number>;
  ms: number;
  rssBytes: number;
}

const PROTOCOL_VERSION = '2025-11-25';
const INFLIGHT = 48;
const STEP_TIMEOUT_MS = 20_000;
const INIT = (id: number) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mem-bench', version: '1' } } });
const INITIALIZED = '{"jsonrpc":"2.0","method":"notifications/initialized"}';
const CALL = (id: number, tool: string, text: string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: { message: text } } });

interface Rpc {
  id?: unknown;
  method?: string;
  result?: { content?: Array<{ text?: string }>; isError?: boolean };
  error?: { message: string };
}

class Fail extends Error {}

let base = '';
let hostHeader = '';
let port = 0;
let pool: Pool;

/** One idle session: which wire, its id, its stream socket (if any) and the one reply it waits for. */
interface MemSession {
  t: MemTransport;
  i: number;
  sid?: string;
  post?: string;
  sock?: Socket;
  buf?: Buffer | string;
  headDone?: boolean;
  wait?: { id: number; resolve: (m: Rpc) => void; reject: (e: Error) => void };
  onHead?: (status: number, head: string) => void;
  closed?: boolean;
}
const sessions: Record<MemTransport, MemSession[]> = { sse: [], ws: [], phoenix: [], 'http-get': [], http: [] };
let counter = 0;

function waitFor(s: MemSession, id: number): Promise<Rpc> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.wait = undefined;
      reject(new Fail('timeout'));
    }, STEP_TIMEOUT_MS);
    s.wait = {
      id,
      resolve: (m) => {
        clearTimeout(timer);
        s.wait = undefined;
        resolve(m);
      },
      reject: (e) => {
        clearTimeout(timer);
        s.wait = undefined;
        reject(e);
      },
    };
  });
}

function deliver(s: MemSession, m: Rpc): void {
  if (s.wait && m.id === s.wait.id && m.method === undefined) s.wait.resolve(m);
}

/** Parses `data:` lines of SSE text into JSON-RPC messages (the endpoint event's data is handed to onEndpoint). */
function sseMessages(text: string, onEndpoint?: (url: string) => void): Rpc[] {
  const out: Rpc[] = [];
  let event = '';
  for (const line of text.split('\n')) {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l.startsWith('event:')) event = l.slice(6).trim();
    else if (l.startsWith('data:')) {
      const d = l.slice(l.charCodeAt(5) === 32 ? 6 : 5);
      if (event === 'endpoint') onEndpoint?.(d);
      else if (d.startsWith('{')) {
        try {
          out.push(JSON.parse(d) as Rpc);
        } catch {
          /* not JSON-RPC (heartbeat payloads are JSON too; they carry no id) */
        }
      }
    } else if (l === '') event = '';
  }
  return out;
}

/**
 * Opens a session's raw socket: until `settle` (the head arrived) a timeout or a close rejects the
 * open; after it, a close fails the session's pending call. `kind` names the failures (stream_*, ws_*).
 */
function rawSocket(s: MemSession, kind: 'stream' | 'ws', resolve: (status: number) => void, reject: (e: Error) => void) {
  const sock = connect({ host: '127.0.0.1', port });
  s.sock = sock;
  sock.setNoDelay(true);
  let settled = false;
  const timer = setTimeout(() => fail(new Fail(kind === 'ws' ? 'upgrade_timeout' : 'stream_timeout')), STEP_TIMEOUT_MS);
  const fail = (e: Error) => {
    if (!settled) {
      settled = true;
      clearTimeout(timer);
      reject(e);
    }
    s.closed = true;
    s.wait?.reject(new Fail(`${kind}_closed`));
  };
  const settle = (status: number) => {
    settled = true;
    clearTimeout(timer);
    resolve(status);
  };
  sock.on('error', (e) => fail(new Fail(`socket_${(e as NodeJS.ErrnoException).code ?? 'error'}`)));
  sock.on('close', () => fail(new Fail(`${kind}_closed`)));
  return { sock, settle, fail };
}

/** A streaming HTTP response on a raw socket: head, then de-chunked body text fed to onText, event by event. */
function httpStream(s: MemSession, request: string, onText: (text: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const { sock, settle } = rawSocket(s, 'stream', resolve, reject);
    let head = '';
    let body = '';
    let pending = '';
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      if (!s.headDone) {
        head += chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        s.headDone = true;
        const status = Number(head.slice(9, 12));
        pending = head.slice(end + 4);
        head = '';
        settle(status);
        if (status !== 200) return;
      } else pending += chunk;
      // Chunked transfer coding: <hex>\r\n<data>\r\n ...
      for (;;) {
        const nl = pending.indexOf('\r\n');
        if (nl === -1) break;
        const size = Number.parseInt(pending.slice(0, nl), 16);
        if (pending.length < nl + 2 + size + 2) break;
        body += Buffer.from(pending.slice(nl + 2, nl + 2 + size), 'latin1').toString('utf8');
        pending = pending.slice(nl + 2 + size + 2);
      }
      const cut = body.lastIndexOf('\n\n');
      if (cut !== -1) {
        const text = body.slice(0, cut + 2);
        body = body.slice(cut + 2);
        onText(text);
      }
    });
    sock.write(request);
  });
}

async function postJson(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; sid?: string; msgs: Rpc[] }> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body,
    headersTimeout: STEP_TIMEOUT_MS,
    bodyTimeout: STEP_TIMEOUT_MS,
  });
  const text = await res.body.text();
  const ct = String(res.headers['content-type'] ?? '');
  const msgs = text === '' ? [] : ct.includes('text/event-stream') ? sseMessages(text) : ct.includes('json') ? [JSON.parse(text) as Rpc] : [];
  const sid = res.headers['mcp-session-id'];
  return { status: res.statusCode, sid: typeof sid === 'string' ? sid : undefined, msgs };
}

function shttpHeaders(s: MemSession): Record<string, string> {
  return { 'mcp-session-id': s.sid!, 'mcp-protocol-version': PROTOCOL_VERSION };
}

// ---- WebSocket frames (client side: masked with a zero key, which leaves the payload as is) ----

function wsFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const head = Buffer.alloc(headLen + 4);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

function wsSend(s: MemSession, text: string): void {
  s.sock!.write(wsFrame(1, Buffer.from(text)));
}

/** Parses server frames in place: text frames go to onText, pings get their pong. */
function wsFrames(s: MemSession, chunk: Buffer, onText: (t: string) => void): void {
  let buf = s.buf instanceof Buffer && s.buf.length > 0 ? Buffer.concat([s.buf, chunk]) : chunk;
  for (;;) {
    if (buf.length < 2) break;
    const opcode = buf[0]! & 0x0f;
    let len = buf[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buf.length < 4) break;
      len = buf.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (buf.length < 10) break;
      len = Number(buf.readBigUInt64BE(2));
      off = 10;
    }
    if (buf.length < off + len) break;
    const payload = buf.subarray(off, off + len);
    buf = buf.subarray(off + len);
    if (opcode === 1) onText(payload.toString('utf8'));
    else if (opcode === 9) s.sock!.write(wsFrame(10, Buffer.from(payload)));
    else if (opcode === 8) s.sock!.end();
  }
  s.buf = buf.length > 0 ? Buffer.from(buf) : undefined;
}

function wsOpen(s: MemSession, path: string, protocol: string | undefined, onText: (t: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const { sock, settle, fail } = rawSocket(s, 'ws', () => resolve(), reject);
    let head = '';
    sock.on('data', (chunk: Buffer) => {
      if (!s.headDone) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        s.headDone = true;
        const status = Number(head.slice(9, 12));
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        head = '';
        if (status !== 101) return fail(new Fail(`upgrade_http_${status}`));
        settle(status);
        if (rest.length > 0) wsFrames(s, rest, onText);
        return;
      }
      wsFrames(s, chunk, onText);
    });
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: ${Buffer.from(String(Math.random()).slice(2, 18).padEnd(16, '0')).toString('base64')}\r\n` +
        (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
        '\r\n',
    );
  });
}

// ---- one session per transport: open (initialize + initialized, stream held) and call ----

function phoenixPush(s: MemSession, event: string, payload: string): void {
  wsSend(s, `["1","${++counter}","mcp:gateway","${event}",${payload}]`);
}

async function open(s: MemSession): Promise<MemSession> {
  const { t, i } = s;
  const client = `mem-${t}-${i}`;
  const id = ++counter;
  switch (t) {
    case 'sse': {
      let endpoint: string | undefined;
      let gotEndpoint!: () => void;
      const endpointSeen = new Promise<void>((r) => (gotEndpoint = r));
      const status = await httpStream(
        s,
        `GET /mcp/sse?client_id=${client} HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: text/event-stream\r\n\r\n`,
        (text) => {
          for (const m of sseMessages(text, (u) => {
            endpoint = u;
            gotEndpoint();
          }))
            deliver(s, m);
        },
      );
      if (status !== 200) throw new Fail(`sse_http_${status}`);
      await Promise.race([endpointSeen, new Promise((_, rej) => setTimeout(() => rej(new Fail('no_endpoint')), STEP_TIMEOUT_MS))]);
      s.post = endpoint!.startsWith('http') ? new URL(endpoint!).pathname + new URL(endpoint!).search : endpoint!;
      const reply = waitFor(s, id);
      const r = await postJson(s.post, INIT(id), {});
      if (r.status !== 202) throw new Fail(`sse_post_${r.status}`);
      const m = await reply;
      if (m.error) throw new Fail('init_error');
      const r2 = await postJson(s.post, INITIALIZED, {});
      if (r2.status !== 202) throw new Fail(`sse_initialized_${r2.status}`);
      return s;
    }
    case 'http':
    case 'http-get': {
      const r = await postJson(`/mcp?client_id=${client}`, INIT(id), {});
      if (r.status !== 200 || !r.sid) throw new Fail(`init_http_${r.status}`);
      s.sid = r.sid;
      const r2 = await postJson(`/mcp?client_id=${client}`, INITIALIZED, shttpHeaders(s));
      if (r2.status !== 202) throw new Fail(`initialized_http_${r2.status}`);
      if (t === 'http') return s;
      const status = await httpStream(
        s,
        `GET /mcp?client_id=${client} HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${s.sid}\r\nMCP-Protocol-Version: ${PROTOCOL_VERSION}\r\n\r\n`,
        (text) => {
          for (const m of sseMessages(text)) deliver(s, m);
        },
      );
      if (status !== 200) throw new Fail(`get_http_${status}`);
      return s;
    }
    case 'ws': {
      await wsOpen(s, `/mcp/ws?client_id=${client}`, 'mcp', (text) => deliver(s, JSON.parse(text) as Rpc));
      const reply = waitFor(s, id);
      wsSend(s, INIT(id));
      if ((await reply).error) throw new Fail('init_error');
      wsSend(s, INITIALIZED);
      return s;
    }
    case 'phoenix': {
      let joined!: (ok: boolean) => void;
      const join = new Promise<boolean>((r) => (joined = r));
      await wsOpen(s, `/mcp/ws/websocket?client_id=${client}&vsn=2.0.0`, undefined, (text) => {
        const f = JSON.parse(text) as [string | null, string | null, string, string, { status?: string; message?: Rpc }];
        if (f[3] === 'phx_reply' && f[1] === '1') joined(f[4].status === 'ok');
        else if (f[3] === 'message' && f[4].message) deliver(s, f[4].message);
      });
      wsSend(s, '["1","1","mcp:gateway","phx_join",{}]');
      if (!(await Promise.race([join, new Promise<boolean>((r) => setTimeout(() => r(false), STEP_TIMEOUT_MS))]))) throw new Fail('join_failed');
      const reply = waitFor(s, id);
      phoenixPush(s, 'message', INIT(id));
      if ((await reply).error) throw new Fail('init_error');
      phoenixPush(s, 'message', INITIALIZED);
      return s;
    }
  }
}

async function call(s: MemSession, tool: string): Promise<void> {
  if (s.closed) throw new Fail('closed_before_call');
  const id = ++counter;
  const text = `m${s.t}-${s.i}-${id}`;
  let m: Rpc;
  switch (s.t) {
    case 'sse': {
      const reply = waitFor(s, id);
      const r = await postJson(s.post!, CALL(id, tool, text), {});
      if (r.status !== 202) throw new Fail(`call_post_${r.status}`);
      m = await reply;
      break;
    }
    case 'http':
    case 'http-get': {
      const r = await postJson(`/mcp?client_id=mem-${s.t}-${s.i}`, CALL(id, tool, text), shttpHeaders(s));
      if (r.status !== 200) throw new Fail(`call_http_${r.status}`);
      const found = r.msgs.find((x) => x.id === id);
      if (!found) throw new Fail('no_reply');
      m = found;
      break;
    }
    case 'ws': {
      const reply = waitFor(s, id);
      wsSend(s, CALL(id, tool, text));
      m = await reply;
      break;
    }
    case 'phoenix': {
      const reply = waitFor(s, id);
      phoenixPush(s, 'message', CALL(id, tool, text));
      m = await reply;
      break;
    }
  }
  if (m.error) throw new Fail('rpc_error');
  if (m.result?.isError) throw new Fail('tool_error');
  const first = m.result?.content?.[0]?.text;
  if (typeof first !== 'string' || !first.includes(text)) throw new Fail('wrong_answer');
}

/** Runs `count` jobs with at most INFLIGHT at once; failures are counted by kind. */
async function bounded(count: number, job: (k: number) => Promise<void>): Promise<Omit<LoadReply, 'rssBytes'>> {
  const t0 = Date.now();
  const kinds: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(INFLIGHT, count) }, async () => {
      while (next < count) {
        const k = next++;
        try {
          await job(k);
          done++;
        } catch (err) {
          failed++;
          const kind = err instanceof Fail ? err.message : (err as Error).message.slice(0, 60);
          kinds[kind] = (kinds[kind] ?? 0) + 1;
        }
      }
    }),
  );
  return { ok: failed === 0, done, failed, kinds, ms: Date.now() - t0 };
}

async function onCommand(cmd: LoadCommand): Promise<LoadReply | undefined> {
  if (cmd.op === 'stop') {
    for (const list of Object.values(sessions)) for (const s of list) s.sock?.destroy();
    await pool.close();
    process.exit(0);
  }
  const list = sessions[cmd.transport];
  if (cmd.op === 'open') {
    const start = list.length;
    const r = await bounded(cmd.n, async (k) => {
      const s: MemSession = { t: cmd.transport, i: start + k };
      try {
        list.push(await open(s));
      } catch (err) {
        s.sock?.destroy();
        throw err;
      }
    });
    return { ...r, rssBytes: process.memoryUsage().rss };
  }
  const snapshot = [...list];
  const r = await bounded(snapshot.length, (k) => call(snapshot[k]!, cmd.tool));
  return { ...r, rssBytes: process.memoryUsage().rss };
}

/** Runs as the generator child only (bench/memory.ts imports this file for its types and constants). */
function main(): void {
  base = process.argv[2] ?? '';
  if (!base.startsWith('http://127.0.0.1:')) {
    console.error('usage: memory-load.ts http://127.0.0.1:<port> (loopback only)');
    process.exit(2);
  }
  const u = new URL(base);
  hostHeader = u.host;
  port = Number(u.port);
  pool = new Pool(base, { connections: 32, pipelining: 1, keepAliveTimeout: 60_000 });
  process.on('message', (cmd: LoadCommand) => {
    onCommand(cmd).then(
      (r) => r && process.send!(r),
      (err) => process.send!({ ok: false, done: 0, failed: 1, kinds: { [String((err as Error).message)]: 1 }, ms: 0, rssBytes: process.memoryUsage().rss }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ok: true, done: 0, failed: 0, kinds: {}, ms: 0, rssBytes: process.memoryUsage().rss });
}
if (process.argv[1] === fileURLToPath(import.meta.url)) main();
