// MCP client sessions for the load generator, without the SDK client: raw Streamable HTTP over an
// undici Pool (keep-alive; JSON or SSE replies), legacy HTTP+SSE (GET stream + POSTs to its endpoint),
// WebSocket (`ws`, subprotocol "mcp", one message per text frame), or stdio (one child shared by all sessions).
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import WebSocket from 'ws';

/** http = Streamable HTTP, sse = legacy HTTP+SSE (2024-11-05), ws = WebSocket, stdio = a child's stdin/stdout, phx = the gateway's Phoenix channel (payload scenario only). */
export type Transport = 'http' | 'sse' | 'ws' | 'stdio' | 'phx';
export const TRANSPORTS: readonly Transport[] = ['http', 'sse', 'ws', 'stdio'];

/** stdio children the runner started, by the pseudo URL `stdio://<pid>` that names them. */
export const stdioChildren = new Map<string, ChildProcess>();
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
  if (url.startsWith('stdio://')) return;
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

/**
 * The reply to a call that echoed `expect` must carry it back: a reply with another session's
 * text (a proxy mixing sessions up) is a wrong answer, counted as an error.
 */
export function checkEcho(msg: RpcMessage, expect: string): RpcMessage {
  checkCallReply(msg);
  const first = (msg.result!.content as Array<{ text?: unknown }>)[0];
  if (typeof first?.text !== 'string' || !first.text.includes(expect)) throw new BenchError('wrong_answer');
  return msg;
}

/**
 * Opens a WebSocket (`protocol`: subprotocol, or none for Phoenix); a refused upgrade rejects with
 * `<kind>_upgrade_http_<status>`, a later error or close goes to `onFail` as `<kind>_error` / `<kind>_closed`.
 */
async function openSocket(url: string, protocol: string | undefined, timeoutMs: number, kind: 'ws' | 'phx', onFail: (e: BenchError) => void): Promise<WebSocket> {
  const options = { perMessageDeflate: false, handshakeTimeout: timeoutMs };
  const ws = protocol === undefined ? new WebSocket(url, options) : new WebSocket(url, protocol, options);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new BenchError(`${kind}_upgrade_http_${res.statusCode}`));
    });
  });
  ws.on('error', () => onFail(new BenchError(`${kind}_error`, undefined, true)));
  ws.on('close', () => onFail(new BenchError(`${kind}_closed`, undefined, true)));
  return ws;
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
    // Only the new chunk is searched for a newline (a multi-MB event must not be re-scanned per chunk).
    if (chunk.indexOf('\n') === -1) {
      this.buf += chunk;
      return undefined;
    }
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

/**
 * A session whose replies arrive on a stream (WebSocket, SSE, stdio) rather than as the answer to
 * the request: one pending call at a time, failed by the load generator's shared watchdog.
 */
export abstract class StreamSession implements Session {
  protected pendingId = -1;
  protected resolve?: (m: RpcMessage) => void;
  protected reject?: (e: Error) => void;
  /** performance.now() when the pending request was sent; checked by a shared watchdog. */
  pendingSince = 0;
  abstract init(): Promise<void>;
  abstract close(): Promise<void>;
  /** Puts one serialized message on the wire. */
  protected abstract write(line: string): void;
  /** False when the stream is gone (the call fails with a re-init). */
  protected abstract isOpen(): boolean;

  rpc(id: number, tail: string): Promise<RpcMessage> {
    if (!this.isOpen()) return Promise.reject(new BenchError('stream_not_open', undefined, true));
    const p = new Promise<RpcMessage>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.pendingId = id;
    this.pendingSince = performance.now();
    this.write(`{"jsonrpc":"2.0","id":${id}${tail}`);
    return p;
  }

  fail(err: Error): void {
    const rej = this.reject;
    this.pendingId = -1;
    this.pendingSince = 0;
    this.resolve = this.reject = undefined;
    rej?.(err);
  }

  /** Delivers one parsed message: answers server pings, resolves the pending call. */
  protected deliver(msg: RpcMessage): void {
    if (msg.method !== undefined) {
      // Server-to-client request: answer ping, refuse anything else. Notifications are ignored.
      if (msg.id !== undefined) {
        const reply = msg.method === 'ping' ? { result: {} } : { error: { code: -32601, message: 'not supported' } };
        this.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...reply }));
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

  /** initialize with a deadline, then notifications/initialized. */
  protected async handshake(timeoutMs: number): Promise<void> {
    const t = setTimeout(() => this.fail(new BenchError('init_timeout')), timeoutMs);
    try {
      checkReply(await this.rpc(0, INIT_TAIL));
    } finally {
      clearTimeout(t);
    }
    this.write(INITIALIZED);
  }
}

export class WsSession extends StreamSession {
  private ws?: WebSocket;
  constructor(private readonly url: string, private readonly timeoutMs: number) {
    super();
  }
  protected write(line: string): void {
    this.ws?.send(line);
  }
  protected isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  async init(): Promise<void> {
    this.ws?.terminate();
    const ws = (this.ws = await openSocket(this.url, 'mcp', this.timeoutMs, 'ws', (e) => this.fail(e)));
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    await this.handshake(this.timeoutMs);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(isBinary ? data.toString('utf8') : data.toString()) as RpcMessage;
    } catch {
      return this.fail(new BenchError('ws_bad_json'));
    }
    this.deliver(msg);
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

/**
 * The gateway's Phoenix channel (`/mcp/ws/websocket`, vsn 2.0.0 array frames): join `mcp:gateway`, then
 * each JSON-RPC message is a `message` push; the gateway's messages come as `message` events carrying
 * `{id, seq, message}`, each acknowledged (`ack` {msg_id}) so no backlog builds up.
 */
export class PhxSession extends StreamSession {
  private ws?: WebSocket;
  private ref = 0;
  private joined?: (ok: boolean) => void;
  constructor(private readonly url: string, private readonly timeoutMs: number) {
    super();
  }
  protected write(line: string): void {
    this.ws?.send(`["1","${++this.ref}","mcp:gateway","message",${line}]`);
  }
  protected isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  async init(): Promise<void> {
    this.ws?.terminate();
    const ws = (this.ws = await openSocket(this.url, undefined, this.timeoutMs, 'phx', (e) => this.fail(e)));
    ws.on('message', (data) => this.onFrame(data as Buffer));
    const joined = new Promise<boolean>((r) => (this.joined = r));
    ws.send(`["1","${++this.ref}","mcp:gateway","phx_join",{}]`);
    if (!(await joined)) throw new BenchError('phx_join_refused');
    await this.handshake(this.timeoutMs);
  }

  private onFrame(data: Buffer): void {
    let frame: [unknown, unknown, string, string, { status?: string; id?: number; message?: RpcMessage }];
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return this.fail(new BenchError('phx_bad_json'));
    }
    const [, , , event, payload] = frame;
    if (event === 'phx_reply' && this.joined) {
      const done = this.joined;
      this.joined = undefined;
      return done(payload?.status === 'ok');
    }
    if (event !== 'message' || !payload?.message) return;
    this.ws?.send(`["1","${++this.ref}","mcp:gateway","ack",{"msg_id":${payload.id}}]`);
    this.deliver(payload.message);
  }

  async close(): Promise<void> {
    const ws = this.ws;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on('error', () => {});
    ws.terminate();
  }
}

/** Legacy HTTP+SSE: a GET stream whose first event names the POST endpoint; replies come on the stream. */
export class SseSession extends StreamSession {
  private endpoint?: string;
  private stream?: AbortController;
  private open = false;
  private gotEndpoint?: (path: string) => void;
  constructor(private readonly pool: Pool, private readonly ssePath: string, private readonly timeoutMs: number) {
    super();
  }

  async init(): Promise<void> {
    this.stream?.abort();
    this.open = false;
    const ac = new AbortController();
    this.stream = ac;
    const res = await this.pool.request({ path: this.ssePath, method: 'GET', headers: { accept: 'text/event-stream' }, signal: ac.signal, bodyTimeout: 0 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new BenchError(`sse_http_${res.statusCode}`);
    }
    res.body.setEncoding('utf8');
    const endpoint = new Promise<string>((resolve, reject) => {
      this.gotEndpoint = resolve;
      setTimeout(() => reject(new BenchError('sse_no_endpoint')), this.timeoutMs).unref();
    });
    void this.read(res.body as AsyncIterable<string>, ac);
    this.endpoint = await endpoint;
    this.open = true;
    await this.handshake(this.timeoutMs);
  }

  private async read(body: AsyncIterable<string>, ac: AbortController): Promise<void> {
    let buf = '';
    let event = '';
    let data = '';
    let has = false;
    try {
      for await (const chunk of body) {
        // Scan only new text for newlines: a multi-MB event arrives in many chunks.
        if (chunk.indexOf('\n') === -1) {
          buf += chunk;
          continue;
        }
        buf += chunk;
        let pos = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', pos)) !== -1) {
          let line = buf.slice(pos, nl);
          pos = nl + 1;
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (event === 'endpoint') {
              const u = new URL(data.trim(), 'http://127.0.0.1');
              this.gotEndpoint?.(u.pathname + u.search);
            } else if (has && data !== '') this.deliver(JSON.parse(data) as RpcMessage);
            event = data = '';
            has = false;
          } else if (line.startsWith('data:')) {
            const v = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
            data = has ? `${data}\n${v}` : v;
            has = true;
          } else if (line.startsWith('event:')) event = line.slice(6).trim();
        }
        buf = buf.slice(pos);
      }
    } catch {
      /* aborted or reset */
    }
    if (this.stream === ac) {
      this.open = false;
      this.fail(new BenchError('sse_closed', undefined, true));
    }
  }

  protected write(line: string): void {
    this.pool
      .request({ path: this.endpoint!, method: 'POST', headers: { 'content-type': 'application/json' }, body: line })
      .then(
        async (r) => {
          await r.body.dump();
          if (r.statusCode < 200 || r.statusCode >= 300) this.fail(new BenchError(`post_http_${r.statusCode}`, undefined, r.statusCode === 404));
        },
        () => this.fail(new BenchError('post_failed', undefined, true)),
      );
  }

  protected isOpen(): boolean {
    return this.open;
  }

  async close(): Promise<void> {
    this.open = false;
    const ac = this.stream;
    this.stream = undefined;
    ac?.abort();
  }
}

/** One stdio child shared by every session of a run: one MCP session, replies routed by id. */
class StdioHub {
  private readonly route = new Map<number, StdioSession>();
  private initP?: Promise<void>;
  private buf = '';
  constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
  }
  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) !== -1) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim() === '') continue;
      const msg = JSON.parse(line) as RpcMessage;
      if (msg.method !== undefined) {
        if (msg.id !== undefined) this.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: {} }));
        continue;
      }
      const s = this.route.get(msg.id as number);
      this.route.delete(msg.id as number);
      s?.receive(msg);
    }
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  expect(id: number, s: StdioSession): void {
    this.route.set(id, s);
  }
  /** The first session's handshake initializes the child; the others wait for it. */
  initialize(first: () => Promise<void>): Promise<void> {
    this.initP ??= first();
    return this.initP;
  }
}
const hubs = new WeakMap<ChildProcess, StdioHub>();

/** A session over a shared stdio child (the "direct" baseline of a stdio upstream). */
export class StdioSession extends StreamSession {
  private readonly hub: StdioHub;
  constructor(child: ChildProcess, private readonly timeoutMs: number) {
    super();
    let hub = hubs.get(child);
    if (!hub) hubs.set(child, (hub = new StdioHub(child)));
    this.hub = hub;
  }
  init(): Promise<void> {
    return this.hub.initialize(() => this.handshake(this.timeoutMs));
  }
  override rpc(id: number, tail: string): Promise<RpcMessage> {
    this.hub.expect(id, this);
    return super.rpc(id, tail);
  }
  receive(msg: RpcMessage): void {
    this.deliver(msg);
  }
  protected write(line: string): void {
    this.hub.send(line);
  }
  protected isOpen(): boolean {
    return true;
  }
  async close(): Promise<void> {}
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
    if (transport === 'stdio') {
      const child = stdioChildren.get(url);
      if (!child) throw new Error(`no stdio child for ${url}`);
      sessions.push(new StdioSession(child, timeoutMs));
    } else if (transport === 'sse') {
      // Each session holds its GET stream on one connection and POSTs on another.
      pool ??= new Pool(u.origin, { connections: 2 * count, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, keepAliveTimeout: 30_000 });
      sessions.push(new SseSession(pool, u.pathname + u.search, timeoutMs));
    } else if (transport === 'http') {
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
      sessions.push(transport === 'phx' ? new PhxSession(w.href, timeoutMs) : new WsSession(w.href, timeoutMs));
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
