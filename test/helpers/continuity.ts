// Helpers for the continuity tests: a gateway in front of the streaming fixture,
// raw clients for each transport that can be cut (socket destroyed, no close frame)
// and resumed, and a seeded PRNG so a failing run can be replayed.
import http from "node:http";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import type { GatewayConfigInput } from "../../src/config/index.js";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "./gateway.js";

export const STREAM_FIXTURE = fileURLToPath(new URL("../fixtures/stream-server.ts", import.meta.url));

/** A stdio upstream running test/fixtures/stream-server.ts. */
export function streamUpstream(name = "stream") {
  return { name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", STREAM_FIXTURE] };
}

/** A quiet gateway on port 0 in front of the streaming fixture (tool names unprefixed). */
export function startStreamGateway(input: GatewayConfigInput = {}) {
  return startTestGateway({ routing: { prefix: "never" }, rate_limiting: { enabled: false }, upstreams: [streamUpstream()], ...input });
}

/**
 * Registers `before`/`after` hooks in the calling scope (call it at a test
 * file's top level) that start {@link startStreamGateway} and close it at the
 * end. Returns the object the `before` hook fills in.
 */
export function useStreamGateway(input: GatewayConfigInput = {}): { gateway: Gateway; url: string } {
  const env = {} as { gateway: Gateway; url: string };
  before(async () => {
    ({ gateway: env.gateway, url: env.url } = await startStreamGateway(input));
  });
  after(() => env.gateway?.close());
  return env;
}

/** Seed of the randomized continuity runs; set `CONTINUITY_SEED` to replay a failing run. */
export const CONTINUITY_SEED = Number(process.env.CONTINUITY_SEED ?? 20261124);

/** mulberry32: a tiny seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An async queue with a timeout on every take. */
export class Inbox<T> {
  #items: T[] = [];
  #waiters: Array<{ resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  #closed?: Error;

  push(item: T): void {
    const w = this.#waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(item);
    } else this.#items.push(item);
  }

  /** Ends the queue: pending and later takes fail with `err` once the items are used up. */
  close(err = new Error("closed")): void {
    this.#closed ??= err;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.#closed);
    }
  }

  next(timeoutMs = 10_000): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no item within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({ resolve, reject, timer });
    });
  }
}

/** One server->client item as the tests see it, whatever the transport. */
export type Received = { seq: number; message: Record<string, any> } | { gap: { from: number; to: number } };

/** A parsed SSE event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses an SSE byte stream into events (only complete events are emitted). */
export function parseSse(res: http.IncomingMessage, onEvent: (e: SseEvent) => void): void {
  let buf = "";
  let id: string | undefined;
  let event = "message";
  let data: string[] = [];
  res.setEncoding("utf8");
  res.on("data", (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf("\n")) !== -1) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line === "") {
        if (data.length > 0 || id !== undefined) onEvent({ id, event, data: data.join("\n") });
        id = undefined;
        event = "message";
        data = [];
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
  });
}

/** An HTTP request on its own socket (so destroying it cuts only this exchange). */
export function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => resolve({ res, req }));
    req.on("error", reject);
    req.end(body);
  });
}

/** Reads a whole response body as text. */
export function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    res.setEncoding("utf8");
    res.on("data", (c) => (s += c));
    res.on("end", () => resolve(s));
    res.on("error", reject);
  });
}

/** A resumable client connection under test: items in, JSON-RPC out, and a hard cut. */
export interface CuttableConnection {
  readonly sessionId: string;
  readonly inbox: Inbox<Received>;
  send(message: Record<string, unknown>): Promise<void>;
  /** Destroys the socket without a close frame / without ending the response. */
  cut(): void;
}

/** Where a reconnect resumes from. */
export interface ResumePoint {
  sessionId: string;
  lastSeq: number;
}

/** WebSocket `mcp-gateway.v1` envelope connection (new session, or resume). */
export async function openEnvelope(baseUrl: string, clientId: string, resume?: ResumePoint): Promise<CuttableConnection & { welcome: Record<string, any>; ws: WebSocket }> {
  const q = new URLSearchParams({ client_id: clientId });
  if (resume) {
    q.set("session_id", resume.sessionId);
    q.set("last_seq", String(resume.lastSeq));
  }
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/mcp/ws?${q}`, ["mcp-gateway.v1"]);
  const inbox = new Inbox<Received>();
  const welcome = new Inbox<Record<string, any>>();
  let dead = false;
  ws.on("message", (data) => {
    if (dead) return;
    const f = JSON.parse(data.toString());
    if (f.type === "welcome" || f.type === "error") welcome.push(f);
    else if (f.type === "message") inbox.push({ seq: f.seq, message: f.message });
    else if (f.type === "gap") inbox.push({ gap: { from: f.from, to: f.to } });
  });
  ws.on("close", () => {
    inbox.close(new Error("socket closed"));
    welcome.close(new Error("socket closed"));
  });
  ws.on("error", () => {});
  const w = await welcome.next();
  if (w.type !== "welcome") throw Object.assign(new Error(`refused: ${w.error}`), { frame: w });
  return {
    sessionId: w.session_id,
    welcome: w,
    ws,
    inbox,
    send: async (message) => void ws.send(JSON.stringify({ type: "message", message })),
    cut: () => {
      dead = true;
      inbox.close(new Error("cut"));
      ws.terminate();
    },
  };
}

/** HTTP+SSE connection: the event stream plus POSTs to its endpoint. */
export async function openLegacySse(baseUrl: string, clientId: string, resume?: ResumePoint & { viaQuery?: boolean }): Promise<CuttableConnection & { connected: Record<string, any> }> {
  const q = new URLSearchParams({ client_id: clientId });
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (resume) {
    q.set("session_id", resume.sessionId);
    // `last_event_id` in the query is for clients that cannot set headers (a new EventSource).
    if (resume.viaQuery) q.set("last_event_id", String(resume.lastSeq));
    else headers["last-event-id"] = String(resume.lastSeq);
  }
  const { res, req } = await request(`${baseUrl}/mcp/sse?${q}`, "GET", headers);
  if (res.statusCode !== 200) throw new Error(`SSE refused: ${res.statusCode} ${await readAll(res)}`);
  const inbox = new Inbox<Received>();
  const control = new Inbox<SseEvent>();
  let dead = false;
  parseSse(res, (e) => {
    if (dead) return;
    if (e.event === "message") inbox.push({ seq: Number(e.id), message: JSON.parse(e.data) });
    else if (e.event === "gap") inbox.push({ gap: JSON.parse(e.data) });
    else if (e.event === "endpoint" || e.event === "connected") control.push(e);
  });
  res.on("close", () => inbox.close(new Error("stream closed")));
  const endpoint = (await control.next()).data;
  const connected = JSON.parse((await control.next()).data);
  return {
    sessionId: connected.session_id,
    connected,
    inbox,
    send: async (message) => {
      const r = await request(`${baseUrl}${endpoint}`, "POST", { "content-type": "application/json" }, JSON.stringify(message));
      await readAll(r.res);
      if (r.res.statusCode !== 202) throw new Error(`POST refused: ${r.res.statusCode}`);
    },
    cut: () => {
      dead = true;
      inbox.close(new Error("cut"));
      req.destroy();
      res.destroy();
    },
  };
}

/** What a client saw over a run with cuts. */
export interface RunLog {
  seqs: number[];
  progress: number[];
  answers: Array<Record<string, any>>;
  gaps: Array<{ from: number; to: number }>;
  cuts: number;
  transports: string[];
}

type Opener = (resume?: ResumePoint) => Promise<CuttableConnection>;

/**
 * Initializes a session, starts `stream_numbers` (count progress
 * notifications), and cuts the connection after a random number of received
 * messages, again and again, resuming each time with the next opener (cycling
 * through `openers`: one for a single transport, several for a switch) until
 * the call's answer arrives. The client records everything it receives and
 * dedups nothing: the assertions are on what the gateway sent.
 */
export async function runWithCuts(openers: Array<[string, Opener]>, rng: () => number, count: number, maxCut = 25): Promise<RunLog> {
  const log: RunLog = { seqs: [], progress: [], answers: [], gaps: [], cuts: 0, transports: [] };
  let which = 0;
  let conn = await openers[0]![1]();
  log.transports.push(openers[0]![0]);
  const sessionId = conn.sessionId;
  let lastSeq = 0;
  const take = (r: Received) => {
    if ("gap" in r) return void log.gaps.push(r.gap);
    log.seqs.push(r.seq);
    lastSeq = r.seq;
    const m = r.message;
    if (m.method === "notifications/progress") log.progress.push(m.params.progress);
    else if (m.id === 2) log.answers.push(m);
  };
  await conn.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "continuity", version: "1" } } });
  for (;;) {
    const r = await conn.inbox.next();
    take(r);
    if ("seq" in r && r.message.id === 1) break;
  }
  await conn.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  await conn.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count, interval_ms: 1 }, _meta: { progressToken: "p" } } });
  for (let round = 0; round < 500 && log.answers.length === 0; round++) {
    const cutAfter = Math.floor(rng() * (maxCut + 1));
    let n = 0;
    while (n < cutAfter && log.answers.length === 0) {
      take(await conn.inbox.next());
      n++;
    }
    if (log.answers.length > 0) break;
    conn.cut();
    log.cuts++;
    which = (which + 1) % openers.length;
    const [name, open] = openers[which]!;
    conn = await open({ sessionId, lastSeq });
    log.transports.push(name);
  }
  conn.cut();
  return log;
}
