import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc.js";
import { LATEST_PROTOCOL_VERSION } from "../protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../protocol/transport.js";
import { GatewayError, toJsonRpcError } from "../errors/index.js";
import { log } from "../telemetry/channels.js";

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
}

/** Server capabilities and identity learned from the upstream's InitializeResult. */
export interface UpstreamIdentity {
  protocolVersion: string;
  capabilities: Record<string, any>;
  serverInfo: { name: string; version: string; [k: string]: unknown };
  instructions?: string;
}

/**
 * What the gateway declares to shared upstream sessions: it relays these on
 * behalf of whichever client's call is running. No `roots.listChanged`: a
 * shared session has no one roots list whose changes it could announce (see
 * docs/adr/0120-roots-and-upstream-session-modes.md).
 */
export const SHARED_SESSION_CAPABILITIES: Readonly<Record<string, unknown>> = { sampling: {}, elicitation: {}, roots: {} };

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

  constructor(
    readonly upstream: string,
    readonly replica: string,
    transport: Transport,
    readonly clientInfo = { name: "mcp-gateway", version: "0.1.0" },
    /** Client capabilities announced in initialize (a per_client session mirrors its client's). */
    readonly capabilities: Readonly<Record<string, unknown>> = SHARED_SESSION_CAPABILITIES,
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
    return this.#pending.size;
  }

  /** The underlying transport (for pid, backpressure, tests). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Opens the transport and performs the MCP initialize handshake. */
  async connect(timeoutMs = 30_000): Promise<UpstreamIdentity> {
    await this.#transport.start();
    const result = (await this.request(
      "initialize",
      { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: this.capabilities, clientInfo: this.clientInfo },
      timeoutMs,
    )) as unknown as UpstreamIdentity;
    this.identity = {
      protocolVersion: result.protocolVersion,
      capabilities: result.capabilities ?? {},
      serverInfo: result.serverInfo ?? { name: this.upstream, version: "" },
      instructions: result.instructions,
    };
    this.#transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    this.#state = "ready";
    return this.identity;
  }

  /**
   * Forwards a client's request. Mutates `request.id` in place (the message is
   * the relay's own parsed copy) to avoid allocating a second object.
   */
  forward(request: JsonRpcRequest, call: PendingCall): void {
    if (this.#state === "closed") throw new GatewayError("upstream_unavailable", { upstream: this.upstream, reason: "connection closed" });
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
    this.lastActivity = call.startedAt;
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
    this.#sendQuietly(message);
  }

  /** Answers a server->client request (the client's answer, id already mapped back). Never throws. */
  respond(message: JsonRpcResponse): void {
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
      this.#drop(call);
      this.lastActivity = Date.now();
      response.id = call.originalId;
      call.sink.onUpstreamResponse(response, call);
      return;
    }
    try {
      this.onServerMessage?.(message as JsonRpcRequest | JsonRpcNotification, extra, this);
    } catch (err) {
      // A handler's failure on one server message must not escape into the transport's read loop: on
      // Streamable HTTP that ends the POST stream and loses the answer still to come on it.
      log("error", "MCP.Upstream", `handling a message from ${this.replica} failed: ${(err as Error).message}`, { upstream: this.upstream });
    }
  }

  #onClose(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    const err = new GatewayError("upstream_unavailable", { upstream: this.upstream, reason: "connection lost" });
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    this.#progress.clear();
    for (const call of calls) call.sink.onUpstreamResponse(toJsonRpcError(err, call.originalId), call);
    this.onClose?.(this);
  }
}
