import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../protocol/transport.js";
import { GatewayError, toJsonRpcError } from "../errors/index.js";
import { log } from "../telemetry/channels.js";
import { GATEWAY_CLIENT_CAPABILITIES, negotiate, type HandshakePlan } from "./handshake/index.js";
import { ModernUpstream, type CacheHint } from "./modern/modern-upstream.js";
import type { CallTrace } from "../telemetry/otel/hook.js";

/** Who receives the answer to a forwarded request. */
export interface CallSink {
  /** The upstream answered; `response.id` is already the caller's original id. */
  onUpstreamResponse(response: JsonRpcResponse, call: PendingCall): void;
  /** The call was abandoned (cancelled, session ended): no answer will come. Pools release its lease here. */
  onAbandon?(call: PendingCall): void;
}

/**
 * One request in flight upstream. Plain object, allocated once per call: the
 * response, progress notifications, timeouts and cancellation all find the
 * caller through it, so the hot path allocates no closures.
 */
export interface PendingCall {
  upstreamId: number;
  originalId: JsonRpcId;
  method: string;
  sink: CallSink;
  startedAt: number;
  deadline: number;
  /** The caller's progress token, when the request asked for progress. */
  progressToken?: string | number;
  /** Opaque owner (the session) for attribution of server->client requests. */
  owner?: unknown;
  connection?: UpstreamConnection;
  /** The call holds its connection's attribution lane (see relay/attribution-lane.ts). */
  lane?: boolean;
  /** OpenTelemetry: told about each attempt sent (src/telemetry/otel/hook.ts); undefined when tracing is off. */
  trace?: CallTrace;
}

/** Server capabilities and identity learned from the upstream's InitializeResult or DiscoverResult. */
export interface UpstreamIdentity {
  /** `legacy`: negotiated by `initialize`; `modern`: 2026-07-28, learned from `server/discover`. */
  era: "legacy" | "modern";
  protocolVersion: string;
  /** Modern upstreams: every version their discover result offers. */
  supportedVersions?: string[];
  capabilities: Record<string, any>;
  serverInfo: { name: string; version: string; [k: string]: unknown };
  instructions?: string;
}

export type ConnectionState = "connecting" | "ready" | "closed";

/**
 * The gateway's MCP client session with one upstream replica over any
 * Transport. Many client sessions share it: request ids are rewritten to a
 * per-connection counter and mapped back on the way out, so ids of different
 * clients never collide upstream.
 */
export class UpstreamConnection {
  readonly #transport: Transport;
  readonly #pending = new Map<number, PendingCall>();
  readonly #progress = new Map<string, PendingCall>();
  #nextId = 1;
  #state: ConnectionState = "connecting";
  identity?: UpstreamIdentity;
  /** Last time a request went out or an answer came back. */
  lastActivity = Date.now();
  /** Server->client traffic: notifications and requests (ids untouched). */
  onServerMessage?: (message: JsonRpcRequest | JsonRpcNotification, extra: MessageExtra | undefined, connection: UpstreamConnection) => void;
  /**
   * True when the wire tells which request a server message belongs to
   * (Streamable HTTP: it arrives on that POST's stream). Set by the replica.
   */
  attributesRelated = false;
  /** Called once when the connection is gone. */
  onClose?: (connection: UpstreamConnection) => void;
  /** Errors the transport reports (e.g. `code: "session_expired"`); the replica re-initializes on those. */
  onTransportError?: (error: Error, connection: UpstreamConnection) => void;
  /** How `connect()` picks the era (the upstream's `protocol:` key; set by the replica). */
  handshake: HandshakePlan = { mode: "legacy", wire: "other" };
  /** The 2026-07-28 adapter, once the handshake found a modern upstream. */
  #modern?: ModernUpstream;

  constructor(
    readonly upstream: string,
    readonly replica: string,
    transport: Transport,
    readonly clientInfo = { name: "mcp-gateway", version: "0.1.0" },
    /** Client capabilities announced in initialize (a per_client session mirrors its client's). */
    readonly capabilities: Readonly<Record<string, unknown>> = GATEWAY_CLIENT_CAPABILITIES,
  ) {
    this.#transport = transport;
    transport.onmessage = (message, extra) => this.#onMessage(message, extra);
    transport.onclose = () => this.#onClose();
    transport.onerror = (error) => this.onTransportError?.(error, this);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Requests waiting for an answer. */
  get inFlight(): number {
    // A modern upstream's listen stream is a standing request, not work in flight.
    return this.#pending.size - (this.#modern?.listen.openCount ?? 0);
  }

  /** The underlying transport (for pid, backpressure, tests). */
  get transport(): Transport {
    return this.#transport;
  }

  /** The upstream's era, once connected. */
  get era(): "legacy" | "modern" | undefined {
    return this.identity?.era;
  }

  /** Caching hints (`ttlMs`/`cacheScope`) of a modern upstream's last answer to a list method. */
  cacheHint(method: string): CacheHint | undefined {
    return this.#modern?.cacheHints.get(method);
  }

  /**
   * Opens the transport and negotiates the era (see upstream/handshake/):
   * `initialize` for legacy upstreams, `server/discover` for modern ones.
   */
  async connect(timeoutMs = 30_000): Promise<UpstreamIdentity> {
    await this.#transport.start();
    this.identity = await negotiate(this, { ...this.handshake, capabilities: this.capabilities }, { upstream: this.upstream, replica: this.replica }, this.clientInfo, timeoutMs);
    if (this.identity.era === "modern") {
      // MRTR replaces server->client requests: every question names its call, on every wire.
      this.attributesRelated = true;
      (this.#transport as Transport & { useModernWire?(): void }).useModernWire?.();
      this.#modern = new ModernUpstream(this.#modernHost(this.identity.protocolVersion));
    }
    this.#state = "ready";
    this.#modern?.listen.start();
    return this.identity;
  }

  /**
   * Forwards a client's request. Mutates `request.id` in place (the message is
   * the relay's own parsed copy) to avoid allocating a second object.
   */
  forward(request: JsonRpcRequest, call: PendingCall): void {
    if (this.#state === "closed") throw new GatewayError("upstream_unavailable", { upstream: this.upstream, reason: "connection closed" });
    if (this.#modern && this.#answerLocally(request, call)) return;
    const upstreamId = this.#nextId++;
    call.upstreamId = upstreamId;
    call.connection = this;
    this.#pending.set(upstreamId, call);
    request.id = upstreamId;
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    if (meta && meta.progressToken !== undefined) {
      // Tokens are only unique per client; make them unique on this shared connection.
      call.progressToken = meta.progressToken as string | number;
      const token = `${upstreamId}`;
      meta.progressToken = token;
      this.#progress.set(token, call);
    }
    this.#modern?.stamp(request, call);
    this.lastActivity = call.startedAt;
    if (call.trace !== undefined) call.trace.sending(this, request, call);
    try {
      this.#transport.send(request);
    } catch (err) {
      this.#drop(call);
      // JSON.stringify failing (RangeError: too deep for the stack) is the request's fault, not the upstream's:
      // it must not count against the upstream's breaker (the resilience layer counts only upstream codes).
      if (err instanceof RangeError || err instanceof TypeError) throw new GatewayError("invalid_request", { detail: `the request cannot be serialized: ${err.message}` }, { cause: err });
      throw new GatewayError("upstream_unavailable", { upstream: this.upstream, reason: (err as Error).message }, { cause: err });
    }
  }

  /** Sends a notification upstream (cancellations, roots/list_changed, ...). Never throws. */
  notify(message: JsonRpcNotification): void {
    if (this.#modern?.drops(message)) return;
    // On modern HTTP, cancelling is closing the request's stream; stdio keeps the notification.
    if (this.#modern && message.method === "notifications/cancelled" && this.#cancelStream(message.params?.requestId as JsonRpcId)) return;
    this.#sendQuietly(message);
  }

  /** Answers a server->client request (the client's answer, id already mapped back). Never throws. */
  respond(message: JsonRpcResponse): void {
    if (this.#modern?.bridge.onClientAnswer(message)) return;
    this.#sendQuietly(message);
  }

  /**
   * Notifications and answers are fire-and-forget: when the wire is already
   * gone (a child exiting, stdin ended) the close event follows and fails the
   * calls in flight. Throwing here would escape from event handlers (stdout
   * data, the sweep timer) as an uncaught exception.
   */
  #sendQuietly(message: JsonRpcMessage): void {
    if (this.#state === "closed") return;
    try {
      this.#transport.send(message);
    } catch {
      // see above
    }
  }

  /** Stops tracking a call (cancelled by the client); a late answer is dropped. */
  abandon(call: PendingCall): void {
    this.#drop(call);
    this.#modern?.bridge.forget(call);
    call.sink.onAbandon?.(call);
  }

  /** A request issued by the gateway itself (list merging, ping, initialize). */
  request(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const now = Date.now();
      const sink: CallSink = {
        onUpstreamResponse: (response) => {
          if ("error" in response) {
            const err = new Error(response.error.message) as Error & { rpc?: unknown };
            err.rpc = response.error;
            reject(err);
          } else resolve(response.result);
        },
      };
      const call: PendingCall = { upstreamId: 0, originalId: 0, method, sink, startedAt: now, deadline: now + timeoutMs };
      const message: JsonRpcRequest = { jsonrpc: "2.0", id: 0, method, params };
      try {
        this.forward(message, call);
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Fails calls whose deadline passed; called by the manager's sweep timer. */
  sweep(now: number): void {
    for (const call of this.#pending.values()) {
      if (call.deadline > now) continue;
      this.#drop(call);
      this.#modern?.bridge.forget(call);
      const err = new GatewayError("upstream_timeout", { upstream: this.upstream, method: call.method, timeout_ms: call.deadline - call.startedAt });
      // Tell the upstream to stop working on it: nobody waits for the answer any more.
      this.notify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: call.upstreamId, reason: "timeout" } });
      call.sink.onUpstreamResponse(toJsonRpcError(err, call.originalId), call);
    }
  }

  /** Calls in flight (for attribution of server->client requests). */
  pendingCalls(): IterableIterator<PendingCall> {
    return this.#pending.values();
  }

  /** Finds the call a server message relates to, by upstream request id. */
  findCall(upstreamId: JsonRpcId): PendingCall | undefined {
    return this.#pending.get(upstreamId as number);
  }

  /** Finds the call a progress notification belongs to. */
  findProgress(token: string | number): PendingCall | undefined {
    return this.#progress.get(String(token));
  }

  async close(): Promise<void> {
    await this.#transport.close();
    this.#onClose();
  }

  #drop(call: PendingCall): void {
    this.#pending.delete(call.upstreamId);
    if (call.progressToken !== undefined) this.#progress.delete(String(call.upstreamId));
  }

  #onMessage(message: JsonRpcMessage, extra: MessageExtra | undefined): void {
    if ((message as JsonRpcRequest).method === undefined) {
      const response = message as JsonRpcResponse;
      const call = this.#pending.get(response.id as number);
      if (!call) return; // late answer to a cancelled or timed-out call
      if (this.#modern?.onResponse(response, call)) return;
      this.#drop(call);
      this.lastActivity = Date.now();
      response.id = call.originalId;
      call.sink.onUpstreamResponse(response, call);
      return;
    }
    if (this.#modern) {
      const mapped = this.#modern.inbound(message as JsonRpcNotification, extra);
      if (mapped === null) return;
      extra = mapped;
    }
    try {
      this.onServerMessage?.(message as JsonRpcRequest | JsonRpcNotification, extra, this);
    } catch (err) {
      // A handler's failure on one server message must not escape into the transport's read loop: on
      // Streamable HTTP that ends the POST stream and loses the answer still to come on it.
      log("error", "MCP.Upstream", `handling a message from ${this.replica} failed: ${(err as Error).message}`, { upstream: this.upstream });
    }
  }

  /**
   * Methods the modern wire removed are answered here, asynchronously, as
   * if the upstream had: the caller's sink sees an ordinary response.
   */
  #answerLocally(request: JsonRpcRequest, call: PendingCall): boolean {
    const answer = this.#modern!.local(request, call);
    if (answer === undefined) return false;
    call.connection = this;
    answer.then(
      (result) => call.sink.onUpstreamResponse({ jsonrpc: "2.0", id: call.originalId, result }, call),
      (err: Error) => call.sink.onUpstreamResponse(toJsonRpcError(new GatewayError("upstream_error", { upstream: this.upstream, reason: err.message }), call.originalId), call),
    );
    return true;
  }

  /** Closes a modern request's own stream (Streamable HTTP); false where the wire has none (stdio). */
  #cancelStream(upstreamId: JsonRpcId): boolean {
    const t = this.#transport as Transport & { cancelRequest?(id: JsonRpcId): boolean };
    return t.cancelRequest?.(upstreamId) ?? false;
  }

  /** The narrow view of this connection the modern adapter works through. */
  #modernHost(protocolVersion: string): ConstructorParameters<typeof ModernUpstream>[0] {
    const connection = this;
    return {
      upstream: this.upstream,
      protocolVersion,
      clientInfo: this.clientInfo,
      get capabilities() {
        return connection.identity?.capabilities ?? {};
      },
      isOpen: () => this.#state !== "closed",
      forward: (request, call) => this.forward(request, call),
      cancel: (call) => {
        const upstreamId = call.upstreamId;
        this.#drop(call);
        // Closing a listen stream is its cancellation on HTTP; stdio has only the notification.
        if (!this.#cancelStream(upstreamId)) this.#sendQuietly({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: upstreamId } });
      },
      ask: (request, extra) => this.onServerMessage?.(request, extra, this),
      reissue: (call, request) => {
        this.#drop(call);
        const meta = request.params?._meta as Record<string, unknown> | undefined;
        if (meta && call.progressToken !== undefined) meta.progressToken = call.progressToken;
        try {
          this.forward(request, call);
        } catch (err) {
          call.sink.onUpstreamResponse(toJsonRpcError(err as GatewayError, call.originalId), call);
        }
      },
      settle: (call, response) => {
        this.#drop(call);
        response.id = call.originalId;
        call.sink.onUpstreamResponse(response, call);
      },
      live: (call) => this.#pending.get(call.upstreamId) === call,
    };
  }

  #onClose(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#modern?.listen.stop();
    const err = new GatewayError("upstream_unavailable", { upstream: this.upstream, reason: "connection lost" });
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    this.#progress.clear();
    for (const call of calls) call.sink.onUpstreamResponse(toJsonRpcError(err, call.originalId), call);
    this.onClose?.(this);
  }
}
