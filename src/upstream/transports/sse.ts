import type { Agent } from "undici";
import { undiciPackage } from "../../lazy-packages.js";
import type { Dispatcher } from "undici";
import type { JsonRpcId, JsonRpcMessage } from "../../protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../../protocol/transport.js";
import { SseParser } from "./sse-parser.js";
import {
  STREAM_DECODE,
  UpstreamTransportError,
  header,
  httpStatusError,
  lowerKeys,
  parseUpstreamMessage,
  upstreamErrorResponse,
  upstreamLabel,
} from "./errors.js";
import { InFlightLimit } from "./in-flight.js";
import { traceHeaders, withTraceHeaders } from "./trace-headers.js";

/** Options of {@link SseUpstreamTransport}. */
export interface SseUpstreamOptions {
  /** The upstream's SSE URL, e.g. `http://127.0.0.1:3001/sse`. */
  url: string;
  /** Extra headers on the GET and every POST (e.g. the upstream's own `Authorization`). */
  headers?: Record<string, string>;
  /** Names the upstream in error messages and `data.upstream` (default: the URL without its query). */
  name?: string;
  /** Longest wait for response headers, and for the `endpoint` event in `start()`, in ms (default 30000). */
  requestTimeoutMs?: number;
  /** `send` returns false once this many POSTs are outstanding (default 1024). */
  maxInFlight?: number;
}

/**
 * Legacy HTTP+SSE (MCP 2024-11-05) client transport toward an upstream server.
 *
 * `start()` opens the GET stream and resolves once the server's
 * `event: endpoint` has named the URL to POST to (resolved against the SSE
 * URL; its `sessionId` query parameter becomes {@link sessionId}). Each
 * message is then one POST (answered 202); replies and server requests come
 * back as `event: message` on the stream. The wire cannot say which request a
 * server message belongs to, so no `relatedRequestId` is set.
 *
 * The stream is the session: when it breaks, the session is gone (there is no
 * resumption in this protocol). Every request still awaiting its reply then
 * gets a JSON-RPC error response, `onerror` reports `upstream_unavailable`
 * and `onclose` follows; reconnecting means a new transport and a new
 * initialize. A failed POST of a request likewise yields an error response.
 * After `close()` no replies are fabricated: `onclose` tells the owner.
 */
export class SseUpstreamTransport implements Transport {
  onmessage?: (message: JsonRpcMessage, extra?: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  ondrain?: () => void;
  /** The upstream's session id, from the endpoint URL's `sessionId` query parameter. */
  sessionId?: string;

  readonly #url: URL;
  readonly #name: string;
  readonly #agent: Agent;
  readonly #getHeaders: Record<string, string>;
  readonly #postHeaders: Record<string, string>;
  readonly #timeout: number;
  readonly #inFlight: InFlightLimit;
  readonly #abort = new AbortController();
  /** Requests sent and not yet answered: they get error responses if the stream dies. */
  readonly #pending = new Set<JsonRpcId>();
  #endpoint: URL | undefined;
  #postOrigin = "";
  #postPath = "";
  #endpointResolve: (() => void) | undefined;
  #endpointReject: ((err: Error) => void) | undefined;
  #started = false;
  #closed = false;

  constructor(options: SseUpstreamOptions) {
    this.#url = new URL(options.url);
    this.#name = options.name ?? upstreamLabel(this.#url);
    this.#agent = new (undiciPackage().Agent)({ keepAliveTimeout: 30_000, pipelining: 1 });
    const user = lowerKeys(options.headers);
    this.#getHeaders = { ...user, accept: "text/event-stream" };
    this.#postHeaders = { ...user, "content-type": "application/json" };
    this.#timeout = options.requestTimeoutMs ?? 30_000;
    this.#inFlight = new InFlightLimit(options.maxInFlight ?? 1024);
  }

  /** The URL messages are POSTed to, once known. */
  get endpoint(): string | undefined {
    return this.#endpoint?.href;
  }

  /**
   * Opens the SSE stream and resolves once the endpoint event arrived. Rejects
   * (with an {@link UpstreamTransportError}) if the upstream is unreachable,
   * answers non-2xx, or sends no endpoint within `requestTimeoutMs`.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error("transport already started");
    if (this.#closed) throw new Error("transport closed");
    this.#started = true;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#agent.request({
        origin: this.#url.origin,
        path: this.#url.pathname + this.#url.search,
        method: "GET",
        headers: this.#getHeaders,
        signal: this.#abort.signal,
        headersTimeout: this.#timeout,
        bodyTimeout: 0,
      });
    } catch (err) {
      await this.#shutdown();
      throw new UpstreamTransportError("upstream_unavailable", `upstream SSE unreachable: ${(err as Error).message}`, { cause: err });
    }
    const type = header(res.headers, "content-type") ?? "";
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const err = await httpStatusError(res, "upstream SSE");
      await this.#shutdown();
      throw err;
    }
    if (!type.startsWith("text/event-stream")) {
      await res.body.dump().catch(() => {});
      await this.#shutdown();
      throw new UpstreamTransportError("upstream_error", `upstream SSE answered ${type || "no content type"}, not text/event-stream`, {
        status: res.statusCode,
      });
    }
    const ready = new Promise<void>((resolve, reject) => {
      this.#endpointResolve = resolve;
      this.#endpointReject = reject;
    });
    void this.#read(res.body);
    const timer = setTimeout(() => {
      this.#endpointReject?.(new UpstreamTransportError("upstream_error", "upstream sent no endpoint event in time"));
    }, this.#timeout);
    try {
      await ready;
    } catch (err) {
      await this.#shutdown();
      throw err;
    } finally {
      clearTimeout(timer);
      this.#endpointResolve = this.#endpointReject = undefined;
    }
  }

  /**
   * POSTs one message to the endpoint. Returns false once `maxInFlight` POSTs
   * are outstanding (the message is still sent); `ondrain` follows when half
   * have completed. Throws before `start()` resolved or after close.
   */
  send(message: JsonRpcMessage): boolean {
    if (this.#closed) throw new Error("transport closed");
    if (this.#endpoint === undefined) throw new Error("transport not started");
    const m = message as { id?: JsonRpcId; method?: string };
    const id = m.method !== undefined ? m.id : undefined;
    if (id !== undefined) this.#pending.add(id);
    this.#inFlight.begin();
    void this.#post(id, JSON.stringify(message), traceHeaders(message));
    return this.#inFlight.accepting();
  }

  /** Closes the stream and every socket; `onclose` fires once. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#shutdown();
  }

  async #post(id: JsonRpcId | undefined, body: string, trace?: Record<string, string>): Promise<void> {
    try {
      const res = await this.#agent.request({
        origin: this.#postOrigin,
        path: this.#postPath,
        method: "POST",
        headers: withTraceHeaders(this.#postHeaders, trace),
        body,
        headersTimeout: this.#timeout,
      });
      if (res.statusCode >= 200 && res.statusCode < 300) {
        await res.body.dump();
        return;
      }
      const err = await httpStatusError(res, "upstream");
      if (!this.#closed) this.#report(id, err);
    } catch (err) {
      if (!this.#closed) {
        this.#report(id, new UpstreamTransportError("upstream_unavailable", `upstream POST failed: ${(err as Error).message}`, { cause: err }));
      }
    } finally {
      if (this.#inFlight.end() && !this.#closed) this.ondrain?.();
    }
  }

  /** Reads the SSE stream until it ends; its end is the end of the session. */
  async #read(body: Dispatcher.ResponseData["body"]): Promise<void> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let cause: unknown;
    try {
      for await (const chunk of body) {
        const events = parser.feed(decoder.decode(chunk as Uint8Array, STREAM_DECODE));
        for (let i = 0; i < events.length; i++) {
          const ev = events[i]!;
          if (ev.event === "endpoint") this.#onEndpoint(ev.data);
          else if ((ev.event === undefined || ev.event === "message") && ev.data.length > 0) this.#dispatch(ev.data);
        }
      }
    } catch (err) {
      cause = err;
    }
    if (this.#closed) return;
    const lost = new UpstreamTransportError("upstream_unavailable", "upstream SSE stream ended", { cause });
    if (this.#endpointReject !== undefined) {
      this.#endpointReject(lost);
      return;
    }
    // Nothing will answer the outstanding requests any more.
    for (const id of this.#pending) this.onmessage?.(upstreamErrorResponse(id, lost, this.#name));
    this.#pending.clear();
    this.onerror?.(lost);
    await this.#shutdown();
  }

  #onEndpoint(data: string): void {
    let url: URL;
    try {
      url = new URL(data.trim(), this.#url);
    } catch (err) {
      this.#endpointReject?.(new UpstreamTransportError("upstream_error", `bad endpoint URL ${data}`, { cause: err }));
      return;
    }
    this.#endpoint = url;
    this.#postOrigin = url.origin;
    this.#postPath = url.pathname + url.search;
    this.sessionId = url.searchParams.get("sessionId") ?? undefined;
    this.#endpointResolve?.();
  }

  #dispatch(text: string): void {
    const msg = parseUpstreamMessage(text, this.onerror);
    if (msg === undefined) return;
    const m = msg as { id?: JsonRpcId; method?: string };
    if (m.method === undefined && m.id !== undefined) this.#pending.delete(m.id);
    this.onmessage?.(msg);
  }

  /** onerror plus, for a request still awaiting its reply, the error response that stands in for it. */
  #report(id: JsonRpcId | undefined, err: UpstreamTransportError): void {
    this.onerror?.(err);
    // Only if still pending: the reply may already have come over the stream.
    if (id !== undefined && this.#pending.delete(id)) this.onmessage?.(upstreamErrorResponse(id, err, this.#name));
  }

  async #shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#pending.clear();
    await this.#agent.destroy().catch(() => {});
    this.onclose?.();
  }
}
