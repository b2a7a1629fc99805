/**
 * Streamable HTTP wire (`POST/GET/DELETE /mcp`). Each request is a POST whose
 * answer comes back as JSON or as an SSE stream on that POST; everything else
 * comes on the standalone GET stream. SSE event ids are the session's seqs.
 *
 * Resume follows the MCP rule that a stream is resumed only as itself: the
 * wire remembers the last event id of every stream (in {@link HttpStreamState},
 * which outlives a single wire), resumes the standalone stream with a GET
 * carrying its own Last-Event-ID, and every POST stream that broke before its
 * answer with a GET carrying that stream's last id.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { readSse, seqOf, type SseEvent } from "./sse-stream.js";
import { classifyRefusal, gatewayUrl, neverSent, WireError, type ResumePoint, type Wire, type WireConfig, type WireEvents } from "./wire.js";

/** Per-session stream bookkeeping that survives reconnects. */
export class HttpStreamState {
  /** Last accepted event id per stream ("get" or a request id). */
  readonly lastIds = new Map<string, number>();
  /** POST streams whose answer has not arrived, by request id, with the original id. */
  readonly unfinished = new Map<string, string | number>();

  clear(): void {
    this.lastIds.clear();
    this.unfinished.clear();
  }
}

const GET_STREAM = "get";

/** One set of Streamable HTTP exchanges for one session. */
export class StreamableHttpWire implements Wire {
  readonly kind = "streamable_http" as const;
  #abort = new AbortController();
  #sessionId?: string;
  #closed = false;
  #getOpen = false;

  constructor(
    readonly config: WireConfig,
    readonly events: WireEvents,
    readonly state: HttpStreamState,
  ) {}

  /** The session id, once known. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...this.config.headers, ...extra };
    if (this.config.token) h.authorization = `Bearer ${this.config.token}`;
    if (this.#sessionId) h["mcp-session-id"] = this.#sessionId;
    if (this.config.protocolVersion) h["mcp-protocol-version"] = this.config.protocolVersion;
    return h;
  }

  #url(): URL {
    return gatewayUrl(this.config.baseUrl, "mcp", { client_id: this.config.clientId });
  }

  connect(resume?: ResumePoint): void {
    if (!resume) {
      // Nothing to connect yet: the session starts with the initialize POST.
      queueMicrotask(() => {
        if (!this.#closed) this.events.onOpen({ resumed: false });
      });
      return;
    }
    this.#sessionId = resume.sessionId;
    void this.#resume(resume);
  }

  async #resume(resume: ResumePoint): Promise<void> {
    // Crossing over from another transport: no per-stream ids yet, the session's seq is the position.
    const getFrom = this.state.lastIds.get(GET_STREAM) ?? (this.state.lastIds.size === 0 && resume.lastSeq > 0 ? resume.lastSeq : undefined);
    const opened = await this.#openGet(getFrom, GET_STREAM);
    if (!opened) return;
    this.events.onOpen({ sessionId: this.#sessionId, resumed: true });
    for (const [key, id] of [...this.state.unfinished]) {
      const last = this.state.lastIds.get(key);
      if (last === undefined) {
        // Broke before its first event: nothing names the stream, so its answer is unreachable.
        this.state.unfinished.delete(key);
        this.events.onCallLost?.(id, "the connection broke before the gateway started answering");
        continue;
      }
      void this.#openGet(last, key);
    }
  }

  /**
   * Opens a GET stream (standalone, or the continuation of POST stream `key`).
   * Resolves true once the gateway accepted it; reading continues in the background.
   */
  async #openGet(lastEventId: number | undefined, key: string): Promise<boolean> {
    const headers = this.#headers({ accept: "text/event-stream" });
    if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId);
    let res: Response;
    try {
      res = await this.config.fetch(this.#url(), { method: "GET", headers, signal: this.#abort.signal });
    } catch (err) {
      this.#finish(new WireError("network", `GET /mcp failed: ${(err as Error).message}`, { cause: err }));
      return false;
    }
    if (res.status === 405 && key === GET_STREAM) {
      // The gateway offers no standalone stream: POST streams carry everything.
      return true;
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      this.#finish(classifyRefusal(res.status, text, res.headers.get("retry-after")));
      return false;
    }
    if (key === GET_STREAM) this.#getOpen = true;
    void this.#readStream(res.body, key, key === GET_STREAM ? undefined : this.state.unfinished.get(key));
    return true;
  }

  async #readStream(body: ReadableStream<Uint8Array>, key: string, requestId: string | number | undefined): Promise<void> {
    let answered = false;
    const onEvent = (e: SseEvent) => {
      const seq = seqOf(e.id);
      if (e.event === "gap") {
        try {
          const g = JSON.parse(e.data) as { from: number; to: number };
          this.events.onGap(Number(g.from), Number(g.to));
        } catch {
          // malformed: ignore
        }
        return;
      }
      if (e.event !== undefined && e.event !== "message") return; // heartbeat and the like
      let message: JSONRPCMessage | undefined;
      if (e.data !== "") {
        try {
          message = JSON.parse(e.data);
        } catch {
          return;
        }
      }
      if (seq === undefined && message === undefined) return;
      // Ids only grow along one stream: anything at or below its last id is a replayed duplicate.
      if (seq !== undefined && seq <= (this.state.lastIds.get(key) ?? 0)) return;
      if (this.events.onMessage(message, seq) && seq !== undefined) this.state.lastIds.set(key, seq);
      if (requestId !== undefined && message && isAnswerTo(message, requestId)) {
        answered = true;
        this.state.unfinished.delete(key);
      }
    };
    try {
      await readSse(body, onEvent, () => this.events.onActivity());
      if (key === GET_STREAM) this.#finish(new WireError("network", "the gateway ended the GET stream"));
      else if (!answered && !this.#closed) this.#finish(new WireError("network", `the answer stream of request ${String(requestId)} ended before its answer`));
    } catch (err) {
      if (this.#closed) return;
      this.#finish(new WireError("network", `stream failed: ${(err as Error).message}`, { cause: err }));
    }
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new WireError("network", "wire closed", { delivered: "no" });
    const request = message as { id?: string | number; method?: string };
    const isRequest = request.method !== undefined && request.id !== undefined;
    let res: Response;
    try {
      res = await this.config.fetch(this.#url(), {
        method: "POST",
        headers: this.#headers({ "content-type": "application/json", accept: "application/json, text/event-stream" }),
        body: JSON.stringify(message),
        signal: this.#abort.signal,
      });
    } catch (err) {
      const e = new WireError("network", `POST /mcp failed: ${(err as Error).message}`, { cause: err, delivered: neverSent(err) ? "no" : "unknown" });
      this.#finish(e);
      throw e;
    }
    const sid = res.headers.get("mcp-session-id");
    if (sid && sid !== this.#sessionId) {
      this.#sessionId = sid;
      this.events.onSessionId?.(sid);
    }
    if (res.status === 202 || res.status === 204) {
      await res.body?.cancel().catch(() => {});
      if (request.method === "notifications/initialized" && !this.#getOpen) void this.#openGet(undefined, GET_STREAM);
      return;
    }
    const type = res.headers.get("content-type") ?? "";
    if (res.ok && type.includes("text/event-stream") && res.body) {
      const key = String(request.id);
      if (isRequest) this.state.unfinished.set(key, request.id!);
      void this.#readStream(res.body, key, request.id);
      return;
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (isRequest) this.events.onCallLost?.(request.id!, "the connection broke while the answer was arriving");
      this.#finish(new WireError("network", `answer lost: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (res.ok) {
      if (text) this.#deliverJson(text);
      return;
    }
    const refusal = classifyRefusal(res.status, text, res.headers.get("retry-after"));
    if (refusal.kind === "auth" || refusal.kind === "session_not_found") {
      (refusal.info as { delivered?: string }).delivered = "no";
      this.#finish(refusal);
      throw refusal;
    }
    // Anything else (429, 400, 5xx) with a JSON-RPC body is the request's answer.
    if (isRequest && this.#deliverError(text, request.id!, res.status)) return;
    (refusal.info as { delivered?: string }).delivered = "no";
    throw refusal;
  }

  #deliverJson(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.events.onMessage(m as JSONRPCMessage, undefined);
  }

  #deliverError(text: string, id: string | number, status: number): boolean {
    let body: { error?: { code?: number; message?: string; data?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: { code: -32603, message: `HTTP ${status}` } };
    }
    if (!body.error || typeof body.error !== "object") return false;
    this.events.onMessage({ jsonrpc: "2.0", id, error: { code: body.error.code ?? -32603, message: body.error.message ?? `HTTP ${status}`, data: body.error.data } } as JSONRPCMessage, undefined);
    return true;
  }

  ack(seq: number): void {
    if (!this.#sessionId) return;
    this.send({ jsonrpc: "2.0", method: "notifications/gateway/ack", params: { seq } }).catch(() => {});
  }

  close(endSession = false): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    if (endSession && this.#sessionId) {
      this.config.fetch(this.#url(), { method: "DELETE", headers: this.#headers() }).then((r) => r.body?.cancel()).catch(() => {});
    }
  }

  /** Drops every stream (dead-connection detection). */
  abort(): void {
    this.#finish(new WireError("heartbeat", "no sign of life from the gateway within the heartbeat timeout"));
  }

  #finish(error: WireError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.events.onClose(error);
  }
}

function isAnswerTo(message: JSONRPCMessage, id: string | number): boolean {
  const m = message as { id?: unknown; method?: unknown };
  return m.method === undefined && m.id === id;
}
