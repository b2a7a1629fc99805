// MCP client sessions for the load generator, without the SDK client: raw Streamable HTTP over an
// undici Pool (keep-alive; JSON or SSE replies), or WebSocket (`ws`, subprotocol "mcp", one message per text frame).
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import WebSocket from 'ws';

export type Transport = 'http' | 'ws';
export const PROTOCOL_VERSION = '2025-11-25';

export class BenchError extends Error {
  constructor(readonly kind: string, message?: string, readonly reinit = false) {
    super(message ?? kind);
  }
}

interface RpcMessage {
  id?: unknown;
  method?: string;
  result?: { isError?: boolean; protocolVersion?: string; tools?: { name: string }[]; content?: unknown };
  error?: { code: number; message: string };
}

function assertLoopback(url: string): void {
  const h = new URL(url).hostname;
  if (h !== '127.0.0.1' && h !== 'localhost' && h !== '[::1]') throw new Error(`refusing non-loopback target ${url}`);
}

export function checkReply(msg: RpcMessage): RpcMessage {
  if (msg.error) throw new BenchError(`rpc_error_${msg.error.code}`, msg.error.message);
  if (msg.result?.isError) throw new BenchError('tool_error');
  return msg;
}

/** A tools/call reply must carry a content array (cheap guard against a proxy answering without calling). */
export function checkCallReply(msg: RpcMessage): RpcMessage {
  checkReply(msg);
  if (!Array.isArray(msg.result?.content)) throw new BenchError('bad_call_result');
  return msg;
}

/** Incremental SSE parser; returns the JSON-RPC response whose id matches. */
class SseScanner {
  private buf = '';
  private data = '';
  private hasData = false;
  reset(): void {
    this.buf = '';
    this.data = '';
    this.hasData = false;
  }
  feed(chunk: string, id: number): RpcMessage | undefined {
    const buf = this.buf + chunk;
    let found: RpcMessage | undefined;
    let pos = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', pos)) !== -1) {
      let end = nl;
      if (end > pos && buf.charCodeAt(end - 1) === 13) end--;
      if (end === pos) {
        found = this.dispatch(id) ?? found;
      } else if (buf.startsWith('data:', pos)) {
        const v = buf.slice(buf.charCodeAt(pos + 5) === 32 ? pos + 6 : pos + 5, end);
        this.data = this.hasData ? `${this.data}\n${v}` : v;
        this.hasData = true;
      }
      pos = nl + 1;
    }
    this.buf = buf.slice(pos);
    return found;
  }
  /** Dispatch a trailing event that was not followed by a blank line. */
  flush(id: number): RpcMessage | undefined {
    return this.dispatch(id);
  }
  private dispatch(id: number): RpcMessage | undefined {
    const data = this.data;
    const had = this.hasData;
    this.data = '';
    this.hasData = false;
    if (!had || data === '') return undefined;
    const msg = JSON.parse(data) as RpcMessage;
    return msg.id === id && msg.method === undefined ? msg : undefined;
  }
}

export interface Session {
  init(): Promise<void>;
  /** Send one request whose JSON tail (after the id) is `tail`; resolves with the reply. */
  rpc(id: number, tail: string): Promise<RpcMessage>;
  close(): Promise<void>;
}

const INIT_TAIL = `,"method":"initialize","params":${JSON.stringify({
  protocolVersion: PROTOCOL_VERSION,
  capabilities: {},
  clientInfo: { name: 'mcp-bench', version: '0.1.0' },
})}}`;
const INITIALIZED = '{"jsonrpc":"2.0","method":"notifications/initialized"}';
const LIST_TAIL = ',"method":"tools/list","params":{}}';
export const callTail = (tool: string, args: Record<string, unknown>) =>
  `,"method":"tools/call","params":${JSON.stringify({ name: tool, arguments: args })}}`;

class HttpSession implements Session {
  private readonly headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
  };
  private readonly sse = new SseScanner();
  constructor(private readonly pool: Pool, private readonly path: string) {}

  async init(): Promise<void> {
    delete this.headers['Mcp-Session-Id'];
    delete this.headers['MCP-Protocol-Version'];
    const { msg, sid } = await this.post(0, INIT_TAIL);
    checkReply(msg);
    if (!sid) throw new BenchError('no_session_id');
    this.headers['Mcp-Session-Id'] = sid;
    this.headers['MCP-Protocol-Version'] = msg.result?.protocolVersion ?? PROTOCOL_VERSION;
    const res = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers, body: INITIALIZED });
    await res.body.dump();
    if (res.statusCode !== 202) throw new BenchError(`initialized_http_${res.statusCode}`);
  }

  async rpc(id: number, tail: string): Promise<RpcMessage> {
    return (await this.post(id, tail)).msg;
  }

  private async post(id: number, tail: string): Promise<{ msg: RpcMessage; sid?: string }> {
    const res = await this.pool.request({
      path: this.path,
      method: 'POST',
      headers: this.headers,
      body: `{"jsonrpc":"2.0","id":${id}${tail}`,
    });
    const sidH = res.headers['mcp-session-id'];
    const sid = Array.isArray(sidH) ? sidH[0] : sidH;
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new BenchError(`http_${res.statusCode}`, undefined, res.statusCode === 404);
    }
    const ct = String(res.headers['content-type'] ?? '');
    if (ct.startsWith('application/json')) {
      const msg = (await res.body.json()) as RpcMessage;
      if (msg.id !== id) throw new BenchError('id_mismatch');
      return { msg, sid };
    }
    if (!ct.startsWith('text/event-stream')) {
      await res.body.dump();
      throw new BenchError('bad_content_type', ct);
    }
    res.body.setEncoding('utf8');
    this.sse.reset();
    let msg: RpcMessage | undefined;
    // Read to the end: the server closes the stream after the response (bounded by undici bodyTimeout).
    for await (const chunk of res.body) msg ??= this.sse.feed(chunk as string, id);
    msg ??= this.sse.flush(id);
    if (!msg) throw new BenchError('sse_no_response');
    return { msg, sid };
  }

  async close(): Promise<void> {
    if (!this.headers['Mcp-Session-Id']) return;
    try {
      const res = await this.pool.request({ path: this.path, method: 'DELETE', headers: this.headers });
      await res.body.dump();
    } catch {
      /* best effort */
    }
  }
}

export class WsSession implements Session {
  private ws?: WebSocket;
  private pendingId = -1;
  private resolve?: (m: RpcMessage) => void;
  private reject?: (e: Error) => void;
  /** performance.now() when the pending request was sent; checked by a shared watchdog. */
  pendingSince = 0;
  constructor(private readonly url: string, private readonly timeoutMs: number) {}

  async init(): Promise<void> {
    this.ws?.terminate();
    const ws = new WebSocket(this.url, 'mcp', { perMessageDeflate: false, handshakeTimeout: this.timeoutMs });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new BenchError(`ws_upgrade_http_${res.statusCode}`));
      });
    });
    ws.on('error', () => this.fail(new BenchError('ws_error', undefined, true)));
    ws.on('close', () => this.fail(new BenchError('ws_closed', undefined, true)));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    const t = setTimeout(() => this.fail(new BenchError('init_timeout')), this.timeoutMs);
    try {
      checkReply(await this.rpc(0, INIT_TAIL));
    } finally {
      clearTimeout(t);
    }
    ws.send(INITIALIZED);
  }

  rpc(id: number, tail: string): Promise<RpcMessage> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new BenchError('ws_not_open', undefined, true));
    const p = new Promise<RpcMessage>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.pendingId = id;
    this.pendingSince = performance.now();
    ws.send(`{"jsonrpc":"2.0","id":${id}${tail}`);
    return p;
  }

  fail(err: Error): void {
    const rej = this.reject;
    this.pendingId = -1;
    this.pendingSince = 0;
    this.resolve = this.reject = undefined;
    rej?.(err);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(isBinary ? data.toString('utf8') : data.toString()) as RpcMessage;
    } catch {
      return this.fail(new BenchError('ws_bad_json'));
    }
    if (msg.method !== undefined) {
      // Server-to-client request: answer ping, refuse anything else. Notifications are ignored.
      if (msg.id !== undefined) {
        const reply = msg.method === 'ping' ? { result: {} } : { error: { code: -32601, message: 'not supported' } };
        this.ws?.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...reply }));
      }
      return;
    }
    if (msg.id === this.pendingId && this.resolve) {
      const res = this.resolve;
      this.pendingId = -1;
      this.pendingSince = 0;
      this.resolve = this.reject = undefined;
      res(msg);
    }
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        ws.once('close', () => (clearTimeout(t), r()));
      });
    }
    ws.terminate();
  }
}

export interface SessionSet {
  sessions: Session[];
  initMs: number;
  initErrors: Record<string, number>;
  close(): Promise<void>;
}

export function errKind(e: unknown): string {
  if (e instanceof BenchError) return e.kind;
  const code = (e as { code?: string } | null)?.code;
  return code ? String(code) : (e as Error)?.name ?? 'unknown';
}

export function bump(kinds: Record<string, number>, k: string): void {
  if (k in kinds || Object.keys(kinds).length < 32) kinds[k] = (kinds[k] ?? 0) + 1;
  else kinds.other = (kinds.other ?? 0) + 1;
}

/** Open `count` initialized sessions (http: over a pool of `connections`; ws: one socket each). */
export async function openSessions(
  url: string,
  transport: Transport,
  count: number,
  opts: { connections?: number; timeoutMs?: number } = {},
): Promise<SessionSet> {
  assertLoopback(url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let pool: Pool | undefined;
  const sessions: Session[] = [];
  const u = new URL(url);
  for (let i = 0; i < count; i++) {
    if (transport === 'http') {
      pool ??= new Pool(u.origin, {
        connections: Math.max(1, opts.connections ?? count),
        pipelining: 1,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        keepAliveTimeout: 30_000,
      });
      sessions.push(new HttpSession(pool, u.pathname + u.search));
    } else {
      const w = new URL(url);
      if (!w.searchParams.has('client_id')) w.searchParams.set('client_id', `bench-${process.pid}-${i}`);
      sessions.push(new WsSession(w.href, timeoutMs));
    }
  }
  const initErrors: Record<string, number> = {};
  const t0 = performance.now();
  const ok = await Promise.all(
    sessions.map((s) =>
      s.init().then(
        () => true,
        (e: unknown) => (bump(initErrors, errKind(e)), false),
      ),
    ),
  );
  const initMs = performance.now() - t0;
  const live = sessions.filter((_, i) => ok[i]);
  return {
    sessions: live,
    initMs,
    initErrors,
    async close() {
      await Promise.all(sessions.map((s) => s.close()));
      await pool?.close().catch(() => pool?.destroy());
    },
  };
}


export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A sleep that does not keep the process alive. */
export const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Check that the endpoint answers and find the tool (exact name, else a unique name ending in it). */
export async function probe(url: string, transport: Transport, tool = 'echo', args = { message: 'hello' }): Promise<string> {
  const set = await openSessions(url, transport, 1, { timeoutMs: 5000 });
  try {
    const s = set.sessions[0];
    if (!s) throw new Error(`initialize failed: ${JSON.stringify(set.initErrors)}`);
    const list = checkReply(await s.rpc(1, LIST_TAIL));
    const names = (list.result?.tools ?? []).map((t) => t.name);
    let name = names.includes(tool) ? tool : undefined;
    const suffixed = names.filter((n) => n.endsWith(tool));
    if (!name && suffixed.length === 1) name = suffixed[0];
    if (!name) throw new Error(`tool ${tool} not found among [${names.join(', ')}]`);
    const reply = checkCallReply(await s.rpc(2, callTail(name, args)));
    const text = JSON.stringify(reply.result?.content);
    for (const v of Object.values(args)) if (typeof v === 'string' && !text.includes(v)) throw new Error(`unexpected ${name} result ${text}`);
    return name;
  } finally {
    await set.close();
  }
}
