import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { Pool } from "undici";
import { undiciPackage } from "../../lazy-packages.js";
import type { Dispatcher } from "undici";
import type { JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../../protocol/transport.js";
import { rawReply, RAW_MIN_CHARS } from "../../protocol/raw-reply.js";
import {
  STREAM_DECODE,
  UpstreamTransportError,
  lowerKeys,
  statusError,
  upstreamErrorResponse,
  upstreamLabel,
  type UpstreamErrorCode,
} from "./errors.js";
import { InFlightLimit } from "./in-flight.js";
import { SseParser } from "./sse-parser.js";
import { PostExchange, rawHeader, type PostSink } from "./post-exchange.js";
import { modernHeaders } from "./modern-headers.js";
import { traceHeaders, withTraceHeaders } from "./trace-headers.js";

// Moved to ./errors.js; re-exported so existing importers keep working.
export { UpstreamTransportError, httpStatusError, upstreamErrorResponse, upstreamLabel, type UpstreamErrorCode } from "./errors.js";

/** Options of {@link StreamableHttpUpstreamTransport}. */
export interface StreamableHttpUpstreamOptions {
  /** The upstream MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`. */
  url: string;
  /** Extra headers on every request (e.g. the upstream's own `Authorization`). */
  headers?: Record<string, string>;
  /** Names the upstream in error messages and `data.upstream` (default: the URL without its query). */
  name?: string;
  /**
   * Longest wait for response headers of any POST/GET/DELETE, in ms (default 30000).
   * Bodies have no idle limit: a long tool call may legitimately stream nothing
   * for minutes, and request deadlines belong to the relay, which cancels with
   * `notifications/cancelled`.
   */
  requestTimeoutMs?: number;
  /**
   * `MCP-Protocol-Version` to send before an initialize result has told us the
   * negotiated one (e.g. when attaching to an existing session via `sessionId`).
   */
  protocolVersion?: string;
  /** Attach to an already initialized upstream session instead of creating one. */
  sessionId?: string;
  /** `send` returns false once this many HTTP exchanges are outstanding (default 1024). */
  maxInFlight?: number;
  /** Maximum sockets to the upstream (default unlimited: open SSE streams each hold one). */
  connections?: number;
  /** First reconnect delay of the GET stream / a stream resume when the server sent no `retry:` (default 1000). */
  reconnectInitialDelayMs?: number;
  /** Cap of the exponential reconnect backoff (default 30000). */
  reconnectMaxDelayMs?: number;
  /** Consecutive failed reconnects before giving up on a stream (default 10). */
  reconnectMaxAttempts?: number;
}

/**
 * The controller whose signal every GET of a session listens to: one listener
 * per concurrent stream resume is expected, so lift the leak warning's limit.
 */
function sessionController(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

/**
 * Streamable HTTP (MCP 2025-03-26 and later) client transport toward an
 * upstream server, written against undici directly: each message is
 * serialized once, each reply parsed once with JSON.parse, nothing validated
 * by schema (the relay only needs the envelope).
 *
 * - Every message is one POST. A request's reply is a JSON body or an SSE
 *   stream; every message on that stream is delivered with
 *   `extra.relatedRequestId` = the POSTed request's id (that is how
 *   server->client requests such as sampling find their caller).
 * - `Mcp-Session-Id` is taken from the initialize response and sent on every
 *   later request, `MCP-Protocol-Version` once the initialize result is seen.
 * - Once `notifications/initialized` has been accepted, a GET stream receives
 *   server-initiated messages (405 = not offered). It reconnects with
 *   `Last-Event-ID` and bounded exponential backoff; a POST stream that breaks
 *   before its reply is resumed the same way if the server gave event ids.
 * - A request never goes unanswered: HTTP errors, network errors and streams
 *   ending early produce a JSON-RPC error response for it (plus `onerror`).
 *   A 404 while holding a session id means the upstream session is gone: the
 *   error's `code` is `"session_expired"` and the session id is dropped so the
 *   owner can re-initialize over the same transport.
 * - `close()` sends DELETE for the session (best effort) and destroys the pool.
 */
export class StreamableHttpUpstreamTransport implements Transport {
  onmessage?: (message: JsonRpcMessage, extra?: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  ondrain?: () => void;
  /** The upstream session id, once the initialize response has set one. */
  sessionId?: string;

  readonly #url: URL;
  readonly #name: string;
  readonly #path: string;
  readonly #pool: Pool;
  readonly #userHeaders: Record<string, string>;
  readonly #timeout: number;
  readonly #inFlight: InFlightLimit;
  readonly #retryBase: number;
  readonly #retryMax: number;
  readonly #retryAttempts: number;
  /** Headers for POSTs, rebuilt only when the session id or protocol version changes. */
  #postHeaders: Record<string, string> | undefined;
  #postHeadersSession: string | undefined;
  readonly #initHeaders: Record<string, string>;
  #protocolVersion: string | undefined;
  /** Id of the initialize request whose result carries the negotiated version. */
  #initId: JsonRpcId | undefined;
  #closed = false;
  /** Aborted when the session ends (close or expiry): stops the GET stream, resumes and their backoff sleeps. */
  #sessionAbort = sessionController();
  /** The session signal of the running GET stream loop, if any. */
  #getSignal: AbortSignal | undefined;
  /** Open 2026-07-28 request POSTs: closing a request's stream is how it is cancelled on the modern wire. */
  readonly #cancellable = new Map<JsonRpcId, PostExchange>();
  #modernWire = false;
  /**
   * Requests whose POST stream broke and is being resumed: aborted when the
   * reply turns up on another stream (the GET stream, another resume) or the
   * request is cancelled, so the resume stops waiting for what already came.
   */
  readonly #resuming = new Map<JsonRpcId, AbortController>();

  constructor(options: StreamableHttpUpstreamOptions) {
    this.#url = new URL(options.url);
    this.#name = options.name ?? upstreamLabel(this.#url);
    this.#path = this.#url.pathname + this.#url.search;
    this.#pool = new (undiciPackage().Pool)(this.#url.origin, {
      connections: options.connections ?? null,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
    this.#userHeaders = lowerKeys(options.headers);
    this.#timeout = options.requestTimeoutMs ?? 30_000;
    this.#inFlight = new InFlightLimit(options.maxInFlight ?? 1024);
    this.#retryBase = options.reconnectInitialDelayMs ?? 1000;
    this.#retryMax = options.reconnectMaxDelayMs ?? 30_000;
    this.#retryAttempts = options.reconnectMaxAttempts ?? 10;
    this.#protocolVersion = options.protocolVersion;
    this.sessionId = options.sessionId;
    this.#initHeaders = {
      ...this.#userHeaders,
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
    };
  }

  /** The negotiated protocol version (from the initialize result), or the configured one. */
  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  /** Nothing to connect: the pool opens sockets on the first POST. */
  async start(): Promise<void> {
    if (this.#closed) throw new Error("transport closed");
    // Attached to an existing session: server-initiated messages flow right away.
    if (this.sessionId !== undefined) void this.#runGetStream();
  }

  /**
   * POSTs one message. Returns false once `maxInFlight` exchanges are
   * outstanding (the message is still sent); `ondrain` follows when half of them
   * have completed. Throws if the transport is closed.
   */
  send(message: JsonRpcMessage): boolean {
    if (this.#closed) throw new Error("transport closed");
    const body = JSON.stringify(message);
    const m = message as { id?: JsonRpcId; method?: string };
    const isInit = m.method === "initialize" && m.id !== undefined;
    if (isInit) this.#initId = m.id;
    // A cancelled request's reply will not come: stop resuming its stream.
    if (m.method === "notifications/cancelled") this.#stopResume((message as { params?: { requestId?: JsonRpcId } }).params?.requestId);
    this.#inFlight.begin();
    // On a 2026-07-28 connection (and for its discover probe) a request carries the standard headers and no
    // session id. The connection decides the era, not the body: a modern caller's envelope may reach a legacy upstream.
    const modern = !isInit && (this.#modernWire || m.method === "server/discover") ? modernHeaders(message) : undefined;
    void this.#post(m.method, m.method !== undefined ? m.id : undefined, body, isInit, modern, traceHeaders(message));
    return this.#inFlight.accepting();
  }

  /** The handshake found a 2026-07-28 upstream: requests go out session-less with the SEP-2243 headers. */
  useModernWire(): void {
    this.#modernWire = true;
  }

  /**
   * Ends an open 2026-07-28 request (a call, a `subscriptions/listen`) by
   * closing its stream: the modern wire's cancellation. False when `id` is
   * no such request (already answered, or a legacy one).
   */
  cancelRequest(id: JsonRpcId): boolean {
    const exchange = this.#cancellable.get(id);
    if (!exchange) return false;
    this.#cancellable.delete(id);
    exchange.cancel();
    return true;
  }

  /** Ends the session upstream (DELETE, best effort) and releases every socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sessionAbort.abort();
    const sid = this.sessionId;
    if (sid !== undefined) {
      try {
        const res = await this.#pool.request({
          path: this.#path,
          method: "DELETE",
          headers: this.#sessionHeaders({ ...this.#userHeaders }),
          headersTimeout: Math.min(this.#timeout, 5000),
        });
        await res.body.dump();
      } catch {
        // Best effort: the upstream will expire the session on its own.
      }
    }
    // destroy, not close: close would wait for open SSE streams to end.
    await this.#pool.destroy().catch(() => {});
    this.onclose?.();
  }

  // ---------------------------------------------------------------- POST path

  /**
   * Dispatches one POST with a {@link PostExchange} as its handler: the
   * callbacks land in {@link #sink}, nothing per call but the exchange, the
   * request options and (on the modern wire) the merged headers.
   */
  #post(method: string | undefined, id: JsonRpcId | undefined, body: string, isInit: boolean, modern?: Record<string, string>, trace?: Record<string, string>): void {
    const exchange = new PostExchange(this.#sink, method, id, isInit || modern ? undefined : this.sessionId);
    if (modern !== undefined && id !== undefined) this.#cancellable.set(id, exchange);
    // dispatch reports a synchronous failure (e.g. the pool is destroyed) through onError too.
    this.#pool.dispatch(
      {
        path: this.#path,
        method: "POST",
        headers: withTraceHeaders(isInit ? this.#initHeaders : modern ? { ...this.#initHeaders, ...modern } : this.#headers(), trace),
        body,
        headersTimeout: this.#timeout,
        bodyTimeout: 0,
      },
      exchange,
    );
  }

  /** Where every POST exchange reports; arrow functions so they reach the transport's private state. */
  readonly #sink: PostSink = {
    started: (ex, rawHeaders) => {
      if (ex.method === "initialize" && ex.id !== undefined) {
        const assigned = rawHeader(rawHeaders, "mcp-session-id");
        if (assigned !== undefined) this.sessionId = assigned;
      }
    },
    message: (ex, text) => this.#dispatchText(text, ex.extra, ex.id),
    ended: (ex, err) => this.#postEnded(ex, err),
  };

  /** A POST exchange is over: answer its request if its reply did not come, resume a broken stream, settle. */
  #postEnded(ex: PostExchange, err: Error | undefined): void {
    const id = ex.id;
    if (id !== undefined && this.#cancellable.get(id) === ex) this.#cancellable.delete(id);
    const status = ex.status;
    if (status === 0) {
      // No response at all (refused, reset, headers timeout, pool destroyed); a request we cancelled ourselves is no failure.
      if (!this.#closed && !ex.cancelled) this.#fail(id, "upstream_unavailable", `upstream unreachable: ${err?.message}`, undefined, err);
    } else if (status < 200 || status >= 300) {
      const error = statusError(status, ex.errorText(), "upstream");
      if (status === 404 && ex.sid !== undefined) this.#sessionExpired(ex.sid, id, 404);
      else this.#report(id, error);
    } else if (ex.parser !== undefined) {
      if (!ex.answered && id !== undefined && !this.#closed && !ex.cancelled) {
        if (ex.parser.lastEventId !== undefined && this.sessionId !== undefined) {
          // The exchange stays outstanding until the resume ends.
          void this.#resume(id, ex.parser, ex.extra!).finally(() => this.#settle());
          return;
        }
        this.#fail(id, "upstream_unavailable", "upstream stream ended before the response", undefined, err);
      }
      if (ex.method === "notifications/initialized" && !this.#closed) void this.#runGetStream();
    } else if (err !== undefined) {
      // Reading a JSON body failed midway (connection reset).
      if (!this.#closed && !ex.cancelled) this.#fail(id, "upstream_unavailable", `upstream connection failed: ${err.message}`, undefined, err);
    } else {
      if (!ex.answered && id !== undefined && !this.#closed) {
        this.#fail(id, "upstream_error", `upstream answered ${status} without a response to the request`, status);
      }
      if (ex.method === "notifications/initialized" && !this.#closed) void this.#runGetStream();
    }
    this.#settle();
  }

  /**
   * Resumes a broken POST stream with GET + Last-Event-ID until its reply
   * arrives. A server that ends a resumed stream cleanly is polling (SEP-1699:
   * it closes the stream and says when to come back with `retry:`): the next
   * resume waits exactly that hint, as the spec requires and no longer, and
   * such rounds are not failures. Only failed connections and non-2xx answers
   * count against `reconnectMaxAttempts` and back off exponentially. The
   * resume ends when the reply arrives on any stream, the request is
   * cancelled, or the session ends.
   */
  async #resume(id: JsonRpcId, parser: SseParser, extra: MessageExtra): Promise<void> {
    const session = this.#sessionAbort.signal;
    const stop = new AbortController();
    this.#resuming.set(id, stop);
    const signal = AbortSignal.any([session, stop.signal]);
    const sid = this.sessionId!;
    let cause: unknown;
    let failures = 0;
    try {
      while (failures < this.#retryAttempts) {
        if (!(await this.#backoff(failures, parser.retry, signal))) {
          // The session ended under us (the reply can no longer come), or the reply came elsewhere / was cancelled.
          if (!this.#closed && session.aborted) this.#fail(id, "session_expired", "upstream session ended before the response");
          return;
        }
        const got = await this.#tryGet(sid, parser.lastEventId, signal);
        if (got === undefined) return;
        if ("failed" in got) {
          cause = got.failed;
          failures++;
          continue;
        }
        const res = got.res;
        const status = res.statusCode;
        if (status === 404) {
          await this.#expire(res, sid, id);
          return;
        }
        if (status < 200 || status >= 300) {
          // The server cannot resume (no event store, 405, ...): the reply is lost.
          await res.body.dump().catch(() => {});
          this.#fail(id, "upstream_error", `upstream refused to resume the stream (${status})`, status);
          return;
        }
        parser.reset();
        try {
          if (await this.#readSse(res.body, parser, extra, id)) return;
          // A clean end without the reply: the server is polling; come back after its hint.
          failures = 0;
        } catch (err) {
          if (this.#closed || signal.aborted) return;
          cause = err;
          failures++;
        }
        if (this.#closed || signal.aborted) return;
      }
      this.#fail(id, "upstream_unavailable", "upstream stream could not be resumed", undefined, cause);
    } finally {
      if (this.#resuming.get(id) === stop) this.#resuming.delete(id);
    }
  }

  /** Stops the resume of request `id`'s stream, if one runs (its reply came elsewhere, or it was cancelled). */
  #stopResume(id: JsonRpcId | undefined): void {
    if (id === undefined) return;
    const stop = this.#resuming.get(id);
    if (stop === undefined) return;
    this.#resuming.delete(id);
    stop.abort();
  }

  // ----------------------------------------------------------------- GET path

  /** Keeps the standalone GET stream for server-initiated messages open until the session ends. */
  async #runGetStream(): Promise<void> {
    const sid = this.sessionId;
    const signal = this.#sessionAbort.signal;
    // One GET stream per session; a loop left over from an expired session is already aborted.
    if (this.#closed || sid === undefined || this.#getSignal === signal) return;
    this.#getSignal = signal;
    const parser = new SseParser();
    let failures = 0;
    let cause: unknown;
    try {
      for (;;) {
        if (failures > this.#retryAttempts) {
          this.onerror?.(new UpstreamTransportError("upstream_unavailable", "upstream GET stream gave up reconnecting", { cause }));
          return;
        }
        if (failures > 0 && !(await this.#backoff(failures - 1, parser.retry, signal))) return;
        const got = await this.#tryGet(sid, parser.lastEventId, signal);
        if (got === undefined) return;
        if ("failed" in got) {
          cause = got.failed;
          failures++;
          continue;
        }
        const res = got.res;
        const status = res.statusCode;
        if (status === 405) {
          // The server offers no GET stream; server messages come on POST streams only.
          await res.body.dump().catch(() => {});
          return;
        }
        if (status === 404) {
          await this.#expire(res, sid, undefined);
          return;
        }
        if (status < 200 || status >= 300) {
          await res.body.dump().catch(() => {});
          cause = new UpstreamTransportError("upstream_error", `upstream GET stream answered ${status}`, { status });
          failures++;
          continue;
        }
        failures = 0;
        parser.reset();
        try {
          await this.#readSse(res.body, parser, undefined, undefined);
        } catch (err) {
          cause = err;
        }
        if (this.#closed || signal.aborted) return;
        // A server may end the stream on purpose (polling); wait `retry` and come back.
        failures = 1;
      }
    } finally {
      if (this.#getSignal === signal) this.#getSignal = undefined;
    }
  }

  /**
   * One GET attempt of a reconnect loop: its response, `failed` (the connection failed: count it and
   * back off), or undefined when the transport closed or the loop was stopped meanwhile.
   */
  async #tryGet(sid: string, lastEventId: string | undefined, signal: AbortSignal): Promise<{ res: Dispatcher.ResponseData } | { failed: unknown } | undefined> {
    try {
      return { res: await this.#get(sid, lastEventId, signal) };
    } catch (err) {
      return this.#closed || signal.aborted ? undefined : { failed: err };
    }
  }

  #get(sid: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...this.#userHeaders, accept: "text/event-stream", "mcp-session-id": sid };
    if (this.#protocolVersion !== undefined) headers["mcp-protocol-version"] = this.#protocolVersion;
    if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
    return this.#pool.request({
      path: this.#path,
      method: "GET",
      headers,
      signal,
      headersTimeout: this.#timeout,
      bodyTimeout: 0,
    });
  }

  /**
   * Sleeps the backoff for `attempt` (0-based): the server's `retry:` hint or the
   * configured base, doubled per attempt with jitter, capped. False if the session ended meanwhile.
   */
  async #backoff(attempt: number, hint: number | undefined, signal: AbortSignal): Promise<boolean> {
    const base = hint ?? this.#retryBase;
    let delay = attempt === 0 ? base : Math.min(this.#retryMax, base * 2 ** attempt);
    if (attempt > 0) delay = delay / 2 + Math.random() * (delay / 2);
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      return false;
    }
    return !this.#closed && !signal.aborted;
  }

  // -------------------------------------------------------------- shared bits

  /** Feeds an SSE body through the parser; true once the reply to `awaitedId` was delivered. */
  async #readSse(
    body: Dispatcher.ResponseData["body"],
    parser: SseParser,
    extra: MessageExtra | undefined,
    awaitedId: JsonRpcId | undefined,
  ): Promise<boolean> {
    const decoder = new TextDecoder();
    let answered = false;
    for await (const chunk of body) {
      const events = parser.feed(decoder.decode(chunk as Uint8Array, STREAM_DECODE));
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        // Empty data is a priming event (it only carries an id); other event types are not MCP.
        if (ev.event !== undefined && ev.event !== "message") continue;
        const text = ev.parts ?? ev.data;
        if (text.length === 0) continue;
        if (this.#dispatchText(text, extra, awaitedId)) answered = true;
      }
    }
    return answered;
  }

  /**
   * Parses one body or event (one string, or the pieces a body was decoded in) and delivers it; true if it
   * held the reply to `awaitedId`. A reply of 256 KiB or more in an SDK's envelope shape is relayed as its
   * text, never parsed (ADR 0211, 0240).
   */
  #dispatchText(text: string | string[], extra: MessageExtra | undefined, awaitedId: JsonRpcId | undefined): boolean {
    if (typeof text !== "string" || text.length >= RAW_MIN_CHARS) {
      const parts = typeof text === "string" ? [text] : text;
      const raw = rawReply(parts);
      if (raw !== undefined) return this.#dispatchOne(raw, extra, awaitedId);
      text = parts.length === 1 ? parts[0]! : parts.join("");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      this.onerror?.(new UpstreamTransportError("upstream_error", "upstream sent invalid JSON", { cause: err }));
      return false;
    }
    if (!Array.isArray(parsed)) return this.#dispatchOne(parsed, extra, awaitedId);
    // Pre-2025-06-18 servers may batch.
    let answered = false;
    for (let i = 0; i < parsed.length; i++) if (this.#dispatchOne(parsed[i], extra, awaitedId)) answered = true;
    return answered;
  }

  #dispatchOne(parsed: unknown, extra: MessageExtra | undefined, awaitedId: JsonRpcId | undefined): boolean {
    const msg = parsed as { jsonrpc?: unknown; id?: JsonRpcId; method?: string; result?: { protocolVersion?: unknown } };
    if (typeof msg !== "object" || msg === null || msg.jsonrpc !== "2.0") {
      // Some event stores replay the stored priming event as `{}`: nothing to report.
      if (typeof msg === "object" && msg !== null && Object.keys(msg).length === 0) return false;
      this.onerror?.(new UpstreamTransportError("upstream_error", "upstream sent a non-JSON-RPC message"));
      return false;
    }
    const isReply = msg.method === undefined;
    if (isReply && this.#initId !== undefined && msg.id === this.#initId) {
      this.#initId = undefined;
      const v = msg.result?.protocolVersion;
      if (typeof v === "string" && v !== this.#protocolVersion) {
        this.#protocolVersion = v;
        this.#postHeaders = undefined;
      }
    }
    // Decided before delivery: the receiver may rewrite `msg.id` in place (the
    // relay maps upstream ids back to the caller's), and comparing afterwards
    // took every reply for a stranger, so each call "lost" its reply and
    // resumed the stream with Last-Event-ID (issue 16's reconnect storm).
    const answers = isReply && awaitedId !== undefined && msg.id === awaitedId;
    // The reply to a request whose stream is being resumed came on another stream: that resume is done.
    if (isReply && !answers && msg.id !== undefined && this.#resuming.size > 0) this.#stopResume(msg.id);
    this.onmessage?.(msg as JsonRpcMessage, extra);
    return answers;
  }

  /** POST headers with the current session id and protocol version (cached). */
  #headers(): Record<string, string> {
    if (this.#postHeaders === undefined || this.#postHeadersSession !== this.sessionId) {
      this.#postHeaders = this.#sessionHeaders({ ...this.#initHeaders });
      this.#postHeadersSession = this.sessionId;
    }
    return this.#postHeaders;
  }

  #sessionHeaders(h: Record<string, string>): Record<string, string> {
    if (this.sessionId !== undefined) h["mcp-session-id"] = this.sessionId;
    if (this.#protocolVersion !== undefined) h["mcp-protocol-version"] = this.#protocolVersion;
    return h;
  }

  /** A GET answered 404: drop its body, then expire the session (answering `id`, if any). */
  async #expire(res: Dispatcher.ResponseData, sid: string, id: JsonRpcId | undefined): Promise<void> {
    await res.body.dump().catch(() => {});
    this.#sessionExpired(sid, id, 404);
  }

  /** The upstream forgot our session: stop using it and tell the owner to re-initialize. */
  #sessionExpired(sid: string, id: JsonRpcId | undefined, status: number): void {
    const err = new UpstreamTransportError("session_expired", `upstream session ${sid} expired`, { status });
    // Only the first report of this session's loss acts; others (GET stream and
    // parallel POSTs all seeing 404) just answer their request.
    if (this.sessionId === sid) {
      this.sessionId = undefined;
      this.#postHeaders = undefined;
      this.#sessionAbort.abort();
      this.#sessionAbort = sessionController();
      this.onerror?.(err);
    }
    if (id !== undefined) this.onmessage?.(upstreamErrorResponse(id, err, this.#name));
  }

  /** onerror plus, for a request, the error response that stands in for its reply. */
  #fail(id: JsonRpcId | undefined, code: UpstreamErrorCode, message: string, status?: number, cause?: unknown): void {
    this.#report(id, new UpstreamTransportError(code, message, { status, cause }));
  }

  #report(id: JsonRpcId | undefined, err: UpstreamTransportError): void {
    this.onerror?.(err);
    if (id !== undefined) this.onmessage?.(upstreamErrorResponse(id, err, this.#name));
  }

  #settle(): void {
    if (this.#inFlight.end() && !this.#closed) this.ondrain?.();
  }
}
