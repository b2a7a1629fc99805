import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage } from "../protocol/jsonrpc.js";
import { SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/jsonrpc.js";
import { GatewayError, toGatewayError, toJsonRpcError } from "../errors/index.js";
import type { DownstreamSink, Session } from "../session/session.js";
import type { ListenerContext } from "./context.js";
import { accepts, parseJsonRpcPayload, readBody, sendError, sendRpcError } from "./http-util.js";
import { sseEvent, startSse, writeSseParts } from "./sse-writer.js";
import { partsBuffer, partsText, rawParts } from "../protocol/raw-reply.js";
import { channels } from "../telemetry/channels.js";
import { rateLimitedRetryAfter } from "../middleware/rate-limit/middleware.js";
import { resumePlan } from "../session/continuity.js";
import { checkMessage, idKey } from "../protocol/validate.js";
import { BATCH_PROTOCOL_VERSIONS, planBatch } from "./streamable-http-batch.js";
import { classifyHeaders, classifyMessage, type EdgeHeaders } from "../protocol/era.js";
import { noteHttpTraceContext } from "../protocol/trace-context.js";

function edgeHeaders(req: IncomingMessage): EdgeHeaders {
  const v = req.headers["mcp-protocol-version"];
  const s = req.headers["mcp-session-id"];
  return { protocolVersion: typeof v === "string" ? v.trim() : undefined, sessionId: typeof s === "string" && s ? s : undefined };
}

/** One POST waiting for its answer; becomes an SSE stream if anything else comes first. */
interface Exchange {
  res: ServerResponse;
  streaming: boolean;
  /** Set when the POST carried a batch: one exchange answers several requests. */
  batch?: BatchReply;
}

/** The reply to a batch POST: answers wait here until the last one, then go out as one JSON array. */
interface BatchReply {
  /** Request keys still unanswered. */
  pending: Set<string>;
  /** Answers (and edge errors) collected so far, as JSON text. */
  answers: string[];
}

/**
 * The Streamable HTTP side of one session. A request's answer goes back on
 * its own POST: as plain JSON when the answer is the first thing to send, or
 * as an SSE stream when progress or a server request comes first (decided
 * lazily, so the common case costs one JSON write). Everything else goes on
 * the GET stream, or waits in the replay buffer until one opens.
 */
export class StreamableHttpSink implements DownstreamSink {
  readonly kind = "streamable_http" as const;
  #exchanges?: Map<string, Exchange>;
  #get: ServerResponse | null = null;
  /** Highest seq written to a standalone GET stream. */
  getCursor = 0;
  /** The session's `initialize` request, until answered: an error answer ends the session (a refused request creates nothing). */
  #initializeId?: JsonRpcId;

  constructor(
    readonly session: Session,
    readonly retryMs: number,
    /** Ends the session (the registry's `end`), when its initialize was refused. */
    readonly onRefused?: () => void,
  ) {}

  /** Registers the POST that carries request `id`. */
  open(id: JsonRpcId, res: ServerResponse, initialize = false): void {
    const key = idKey(id);
    if (initialize) this.#initializeId = id;
    (this.#exchanges ??= new Map()).set(key, { res, streaming: false });
    res.once("close", () => {
      if (this.#exchanges?.get(key)?.res === res) this.#exchanges.delete(key);
      this.#dropEmptyExchanges();
      this.#touched();
    });
  }

  /**
   * Registers a batch POST that carries requests `ids`; `answered` holds the
   * edge errors already known. With no requests the reply goes out at once.
   */
  openBatch(ids: JsonRpcId[], res: ServerResponse, answered: string[]): void {
    const batch: BatchReply = { pending: new Set(ids.map(idKey)), answers: answered };
    const ex: Exchange = { res, streaming: false, batch };
    if (batch.pending.size === 0) return this.#endBatch(ex);
    for (const key of batch.pending) (this.#exchanges ??= new Map()).set(key, ex);
    res.once("close", () => {
      for (const key of batch.pending) if (this.#exchanges?.get(key) === ex) this.#exchanges.delete(key);
      this.#dropEmptyExchanges();
      this.#touched();
    });
  }

  /** Sends a batch's collected answers as one JSON array (or ends its SSE stream). */
  #endBatch(ex: Exchange): void {
    if (ex.streaming) return void ex.res.end();
    const json = `[${ex.batch!.answers.join(",")}]`;
    ex.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json), "mcp-session-id": this.session.id });
    ex.res.end(json);
  }

  /** One message for a batch POST: answers are collected; anything else first turns the reply into an SSE stream. */
  #deliverToBatch(ex: Exchange, key: string, json: string, isAnswer: boolean, session: Session): boolean {
    const batch = ex.batch!;
    if (isAnswer) {
      batch.pending.delete(key);
      this.#exchanges!.delete(key);
    }
    let ok = true;
    if (!ex.streaming && isAnswer) batch.answers.push(json);
    else {
      if (!ex.streaming) {
        ex.streaming = true;
        startSse(ex.res, this.retryMs, { "mcp-session-id": session.id });
        ex.res.write(sseEvent("", session.record("", key)));
        // Answers collected before the switch go first (edge errors and early answers).
        for (const early of batch.answers) ex.res.write(sseEvent(early));
        batch.answers.length = 0;
      }
      ok = ex.res.write(sseEvent(json, session.record(json, key, isAnswer)));
    }
    if (batch.pending.size === 0) this.#endBatch(ex);
    return ok;
  }

  /** True while a POST for request `id` (same JSON type and value) waits for its answer. */
  hasOpen(id: JsonRpcId): boolean {
    const ex = this.#exchanges?.get(idKey(id));
    return ex !== undefined && !ex.res.writableEnded;
  }

  /** No exchange open: the map goes too (an empty Map keeps its table, ~300 B per idle session). */
  #dropEmptyExchanges(): void {
    if (this.#exchanges?.size === 0) this.#exchanges = undefined;
  }

  /** The TTL of a Streamable HTTP session counts from the end of its last exchange. */
  #touched(): void {
    this.session.lastActivity = Date.now();
  }

  /** No POST and no GET stream open: the session is idle and its TTL runs. */
  idle(): boolean {
    return (this.#exchanges === undefined || this.#exchanges.size === 0) && (this.#get === null || this.#get.writableEnded);
  }

  /** Number of open POST exchanges. */
  get openExchanges(): number {
    return this.#exchanges?.size ?? 0;
  }

  /**
   * Attaches a GET stream (the standalone one, or the continuation of a POST
   * stream on resume). `resumed`: the client named the event it saw last, so
   * a gap in the replay buffer is reported (`event: gap`) before the replay.
   */
  attachStream(res: ServerResponse, stream: string, afterSeq: number, resumed = false): void {
    startSse(res, this.retryMs, { "mcp-session-id": this.session.id });
    const plan = resumePlan(this.session, afterSeq, stream);
    if (resumed && plan.gap) res.write(sseEvent(JSON.stringify(plan.gap), undefined, "gap"));
    let finished = false;
    for (const entry of plan.entries) {
      res.write(sseEvent(entry.json, entry.seq));
      if (stream === "get") this.getCursor = entry.seq;
      finished = entry.last === true;
    }
    // Its answer may also have left the buffer already (reported in the gap), or be the very event the
    // client resumed after (it saw the whole stream): nothing more will come.
    if (!finished && stream !== "get" && plan.entries.length === 0 && (this.session.replay.departedEnd(stream) || this.session.replay.endsStream(afterSeq))) finished = true;
    if (finished) {
      // The request's answer was among the replayed messages: its stream is complete.
      res.end();
      return;
    }
    if (stream === "get") {
      const old = this.#get;
      this.#get = res;
      // One standalone stream per session: a reconnect replaces a stale one.
      if (old && old !== res) old.end();
      res.once("close", () => {
        if (this.#get === res) this.#get = null;
        this.#touched();
      });
    } else {
      (this.#exchanges ??= new Map()).set(stream, { res, streaming: true });
      res.once("close", () => {
        if (this.#exchanges?.get(stream)?.res === res) this.#exchanges.delete(stream);
        this.#dropEmptyExchanges();
        this.#touched();
      });
    }
  }

  deliver(message: JsonRpcMessage, relatedId: JsonRpcId | undefined, session: Session): boolean {
    // A large reply relayed as text (ADR 0211) comes in pieces; everything else is stringified as always.
    const parts = rawParts(message);
    const json = parts === undefined ? JSON.stringify(message) : partsText(parts);
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "outbound", clientId: session.clientId, sessionId: session.id, transport: "streamable_http", size: json.length });
    if (relatedId !== undefined) {
      const key = idKey(relatedId);
      const ex = this.#exchanges?.get(key);
      const isAnswer = (message as { method?: string }).method === undefined && (message as { id?: JsonRpcId }).id === relatedId;
      if (isAnswer && this.#initializeId !== undefined && relatedId === this.#initializeId) {
        this.#initializeId = undefined;
        // Refused (rate limit, breaker, ...): the answer goes out, and the session it would have opened is gone.
        if ("error" in message) queueMicrotask(() => this.onRefused?.());
      }
      if (ex && !ex.res.writableEnded) {
        if (ex.batch) return this.#deliverToBatch(ex, key, json, isAnswer, session);
        if (isAnswer && !ex.streaming) {
          this.#exchanges!.delete(key);
          const res = ex.res;
          // A rate-limit refusal is also an HTTP 429 with Retry-After (the body stays the JSON-RPC error).
          const retryAfter = rateLimitedRetryAfter(message);
          // A large reply relayed as text (ADR 0211): encoded once, in place, into the body.
          const body = parts === undefined ? json : partsBuffer(parts);
          const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
          if (retryAfter === undefined) res.writeHead(200, { "content-type": "application/json", "content-length": length, "mcp-session-id": session.id });
          else res.writeHead(429, { "content-type": "application/json", "content-length": length, "mcp-session-id": session.id, "retry-after": String(retryAfter) });
          res.end(body);
          return true;
        }
        if (!ex.streaming) {
          ex.streaming = true;
          startSse(ex.res, this.retryMs, { "mcp-session-id": session.id });
          // Priming event: gives the client an event id to resume from before any message.
          ex.res.write(sseEvent("", session.record("", key)));
        }
        const seq = session.record(json, key, isAnswer);
        const ok = parts === undefined ? ex.res.write(sseEvent(json, seq)) : writeSseParts(ex.res, parts, seq);
        if (isAnswer) {
          this.#exchanges!.delete(key);
          ex.res.end();
        }
        return ok;
      }
      // The POST is gone: keep it for a resume of that stream.
      session.record(json, key, isAnswer);
      return false;
    }
    const seq = session.record(json, "get");
    if (!this.#get || this.#get.writableEnded) return false;
    this.getCursor = seq;
    return parts === undefined ? this.#get.write(sseEvent(json, seq)) : writeSseParts(this.#get, parts, seq);
  }

  /** Ends every stream; on shutdown (1001) SSE streams first get a `retry:` so clients come back. */
  close(code?: number): void {
    const retry = code === 1001 ? `retry: ${this.retryMs}\n\n` : "";
    if (this.#get && retry && !this.#get.writableEnded) this.#get.write(retry);
    this.#get?.end();
    this.#get = null;
    if (this.#exchanges) {
      // A batch's exchange is listed once per request: end each stream once.
      for (const ex of new Set(this.#exchanges.values())) {
        if (ex.streaming && retry && !ex.res.writableEnded) ex.res.write(retry);
        ex.res.end();
      }
    }
    this.#exchanges?.clear();
  }

  bufferedBytes(): number {
    let n = this.#get?.writableLength ?? 0;
    const exchanges = this.#exchanges;
    if (exchanges === undefined) return n;
    // Asked before every send: the common case (one open POST) needs no Set; a batch's exchange is listed once
    // per request, so more than one entry is counted once per exchange.
    if (exchanges.size === 1) for (const ex of exchanges.values()) n += ex.res.writableLength;
    else for (const ex of new Set(exchanges.values())) n += ex.res.writableLength;
    return n;
  }
}

/** Handles `/mcp`: POST, GET, DELETE per the MCP Streamable HTTP transport. */
export async function handleStreamableHttp(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  // The modern (2026-07-28) wire: classified once, here, and served without a session (src/eras/modern/).
  if (ctx.modern !== undefined && ctx.config.current.modern.enabled && classifyHeaders(edgeHeaders(req)) === "modern") return ctx.modern.serve(req, res);
  // Cluster mode: a session another node holds is forwarded there, or adopted here (src/cluster/).
  if (ctx.cluster !== undefined) {
    const id = req.headers["mcp-session-id"];
    if (typeof id === "string" && id && !ctx.registry.get(id) && (await ctx.cluster.claim(id, req, res, (r, s) => handleStreamableHttp(r, s, ctx)))) return;
  }
  const method = req.method;
  if (method === "POST") return handlePost(req, res, ctx);
  if (method === "GET") return handleGet(req, res, ctx);
  if (method === "DELETE") return handleDelete(req, res, ctx);
  sendError(res, new GatewayError("method_not_allowed", { method }), { allow: "GET, POST, DELETE" });
}

function checkProtocolVersion(req: IncomingMessage): GatewayError | null {
  const version = req.headers["mcp-protocol-version"];
  if (version === undefined) return null;
  return (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version as string)
    ? null
    : new GatewayError("unsupported_protocol_version", { version: String(version) });
}

/** Finds the session a request names, or answers 400/404 (under the parsed message's id, when there is one) and returns undefined. */
function sessionOf(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext, message?: JsonRpcMessage): Session | undefined {
  const id = req.headers["mcp-session-id"];
  if (typeof id !== "string" || !id) {
    refuseParsed(req, res, ctx, message, new GatewayError("session_required"));
    return undefined;
  }
  const session = ctx.registry.get(id);
  if (!session || session.transport !== "streamable_http") {
    refuseParsed(req, res, ctx, message, new GatewayError("session_not_found", { session_id: id }));
    return undefined;
  }
  return session;
}

/**
 * Answers a POST whose body was parsed but that no session takes (JSON-RPC
 * error under its id; auth failures through ctx.refuse, for the 401 and its
 * challenge), and tells telemetry (ctx.onRefused: a SERVER span, src/telemetry/otel/).
 * Without a parsed message (a GET, a DELETE) it is just the answer.
 */
function refuseParsed(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext, message: JsonRpcMessage | undefined, err: GatewayError, opts: { auth?: boolean; clientId?: string } = {}): void {
  const id = message === undefined ? null : parsedId(message);
  if (message !== undefined) ctx.onRefused?.(req, { transport: "streamable_http", message, answer: toJsonRpcError(err, id), clientId: opts.clientId });
  if (opts.auth) ctx.refuse(res, err);
  else sendRpcError(res, err, id);
}

async function handlePost(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  const config = ctx.config.current;
  const contentType = req.headers["content-type"];
  if (!contentType || !contentType.includes("application/json")) {
    return sendRpcError(res, new GatewayError("unsupported_media_type", { detail: "Content-Type must be application/json" }));
  }
  // Both, as the spec requires: an answer may turn into an SSE stream (progress, server requests) after the POST.
  if (!accepts(req, "application/json") || !accepts(req, "text/event-stream")) {
    return sendRpcError(res, new GatewayError("not_acceptable", { detail: "Accept must include application/json and text/event-stream" }));
  }
  let body: string;
  let payload: JsonRpcMessage | unknown[];
  try {
    body = await readBody(req, config.server.body_limit);
    payload = parseJsonRpcPayload(body);
  } catch (err) {
    return sendRpcError(res, toGatewayError(err));
  }
  if (Array.isArray(payload)) return handleBatch(req, res, ctx, payload, body.length);
  const message = payload;
  // Noted first: a request refused below still has its client's parent (a SERVER span, via ctx.onRefused).
  noteHttpTraceContext(req, message);
  // The edge check: a bad envelope or id, or too deep a message, is answered on this POST at once (never a hang).
  const check = checkMessage(message, config.server.max_json_depth);
  if (!check.ok) {
    ctx.onRefused?.(req, { transport: "streamable_http", message, answer: toJsonRpcError(check.error, check.id) });
    return sendRpcError(res, check.error, check.id);
  }

  // No modern version header, but the body is modern (_meta protocolVersion): the modern wire answers (-32020).
  if (ctx.modern !== undefined && ctx.config.current.modern.enabled && classifyMessage(message, edgeHeaders(req)) === "modern") return ctx.modern.serve(req, res, body);
  const isInitialize = (message as { method?: string }).method === "initialize";
  let session: Session | undefined;
  if (isInitialize) {
    if (req.headers["mcp-session-id"]) {
      return refuseParsed(req, res, ctx, message, new GatewayError("invalid_request", { detail: "initialize must not carry an Mcp-Session-Id" }));
    }
    let identity;
    try {
      identity = await ctx.authenticate(req);
    } catch (err) {
      return refuseParsed(req, res, ctx, message, toGatewayError(err), { auth: true });
    }
    try {
      await ctx.admit?.(identity);
    } catch (err) {
      return refuseParsed(req, res, ctx, message, toGatewayError(err), { clientId: identity.clientId });
    }
    const created = ctx.registry.create(identity.clientId, "streamable_http");
    session = created;
    session.identity = identity;
    session.attach(new StreamableHttpSink(session, config.http_sse.retry, () => ctx.registry.end(created)));
    ctx.onConnected(session, req.socket);
  } else {
    // The body is parsed by now: a transport-level refusal names the request it refuses (JSON-RPC: id null only when unknown).
    session = await existingSession(req, res, ctx, message);
    if (!session) return;
  }
  if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "streamable_http", method: (message as { method?: string }).method, size: body.length });
  const m = message as { id?: JsonRpcId; method?: string };
  if (m.method !== undefined && m.id !== undefined) {
    const sink = session.sink as StreamableHttpSink;
    // Two requests with one id in flight would share one answer: the second is refused on its own POST.
    if (sink.hasOpen(m.id) || session.inflight?.has(m.id)) return refuseParsed(req, res, ctx, message, new GatewayError("duplicate_request_id", { id: JSON.stringify(m.id) }), { clientId: session.clientId });
    sink.open(m.id, res, isInitialize);
    ctx.dispatch(session, message);
    return;
  }
  // Notifications and responses: accepted, no body.
  ctx.dispatch(session, message);
  if (!res.headersSent) {
    res.writeHead(202, { "mcp-session-id": session.id });
    res.end();
  }
}

/**
 * A batch POST: allowed in sessions negotiated at 2025-03-26 (or 2024-11-05),
 * refused with `batch_not_supported` in later ones. Each element goes through
 * the normal per-message path; the answers come back together (one JSON
 * array, or one SSE stream when something else comes first). A batch with no
 * requests is accepted with 202.
 */
async function handleBatch(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext, batch: unknown[], size: number): Promise<void> {
  const session = await existingSession(req, res, ctx);
  if (!session) return;
  if (!BATCH_PROTOCOL_VERSIONS.includes(session.protocolVersion)) return sendRpcError(res, new GatewayError("batch_not_supported"));
  // JSON-RPC 2.0: an empty array is one invalid request.
  if (batch.length === 0) return sendRpcError(res, new GatewayError("invalid_request", { detail: "a batch must not be empty" }));
  const sink = session.sink as StreamableHttpSink;
  const plan = planBatch(batch, ctx.config.current.server.max_json_depth, (id) => sink.hasOpen(id) || session.inflight?.has(id) === true);
  if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "streamable_http", method: "batch", size });
  if (plan.requests.length === 0 && plan.errors.length === 0) {
    for (const m of plan.others) ctx.dispatch(session, m);
    res.writeHead(202, { "mcp-session-id": session.id });
    res.end();
    return;
  }
  // Registered before any dispatch, so an answer given at once still finds its batch.
  sink.openBatch(plan.requests.map((r) => r.id), res, plan.errors.map((e) => JSON.stringify(e)));
  for (const m of plan.others) ctx.dispatch(session, m);
  for (const r of plan.requests) ctx.dispatch(session, r.message);
}

/**
 * The session a later request names, after the checks every such request
 * passes: its MCP-Protocol-Version, the session id (400/404), and its
 * credentials (a session id is not a credential). Answers the refusal itself
 * (naming `requestId` when the body was parsed) and returns undefined.
 */
async function existingSession(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext, message?: JsonRpcMessage): Promise<Session | undefined> {
  const versionError = checkProtocolVersion(req);
  if (versionError) {
    refuseParsed(req, res, ctx, message, versionError);
    return undefined;
  }
  const session = sessionOf(req, res, ctx, message);
  if (!session) return undefined;
  const check = await ctx.verify(req, session);
  if (check) {
    refuseParsed(req, res, ctx, message, check, { auth: true });
    return undefined;
  }
  return session;
}

/** The id of a parsed request (null for notifications, responses and anything without a valid id). */
function parsedId(message: JsonRpcMessage): JsonRpcId | null {
  const m = message as { id?: unknown; method?: unknown };
  return m.method !== undefined && (typeof m.id === "string" || typeof m.id === "number") ? m.id : null;
}

async function handleGet(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  if (!accepts(req, "text/event-stream")) {
    return sendError(res, new GatewayError("not_acceptable", { detail: "GET needs Accept: text/event-stream" }));
  }
  const session = await existingSession(req, res, ctx);
  if (!session) return;
  const lastEventId = req.headers["last-event-id"];
  let stream = "get";
  if (typeof lastEventId === "string" && /^\d+$/.test(lastEventId)) {
    const after = Number(lastEventId);
    // Resume the stream that event belonged to, never another one (MCP resumability rule).
    const known = session.replay.streamOf(after);
    if (known === undefined && after > 0 && after <= session.replay.evictedThrough) {
      // Which stream that event was on is forgotten too: report the gap and end, never guess a stream.
      startSse(res, ctx.config.current.http_sse.retry, { "mcp-session-id": session.id });
      res.end(sseEvent(JSON.stringify({ from: Math.max(after, session.ackedSeq) + 1, to: session.replay.evictedThrough }), undefined, "gap"));
      return;
    }
    stream = known ?? "get";
    if (ctx.onResume) ctx.onResume(session, after, res);
    (session.sink as StreamableHttpSink).attachStream(res, stream, after, true);
    return;
  }
  // A fresh GET stream gets what waited for it since the last one ended.
  const sink = session.sink as StreamableHttpSink;
  sink.attachStream(res, stream, sink.getCursor);
}

async function handleDelete(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  const session = sessionOf(req, res, ctx);
  if (!session) return;
  const check = await ctx.verify(req, session);
  if (check) return ctx.refuse(res, check);
  session.sink?.close();
  ctx.registry.end(session);
  res.writeHead(200, { "content-length": 0 });
  res.end();
}
