import { performance } from "node:perf_hooks";
import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from "@opentelemetry/api";
import { hrTime } from "@opentelemetry/core";
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { CallSink, PendingCall, UpstreamConnection } from "../../upstream/connection.js";
import { redactText } from "../../config/redact.js";
import type { CallTrace, RelayTracer } from "./hook.js";
import { contextWith, extractParent, injectInto } from "./propagation.js";
import { ATTR, GATEWAY_ATTR, clientProtocol, outcomeOf, serverOutcome, spanName, targetOf, type Outcome } from "./semconv.js";

/** Where the three histograms go (OTLP instruments, prom-client histograms, or both). */
export interface DurationSink {
  server(seconds: number, attributes: Attributes): void;
  client(seconds: number, attributes: Attributes): void;
  session(seconds: number, attributes: Attributes): void;
}

/** How an upstream replica is reached (server.address/port, network.* of CLIENT spans). */
export interface UpstreamEndpoint {
  transport: "pipe" | "tcp";
  protocolName?: string;
  protocolVersion?: string;
  address?: string;
  port?: number;
}

export interface RelayTracerOptions {
  /** Undefined: metrics only, no spans. */
  tracer?: Tracer;
  sinks: DurationSink[];
  endpointOf(upstream: string, replica: string): UpstreamEndpoint;
  /** Record tool arguments and results (opt-in attributes). */
  recordContent: boolean;
}

/**
 * What a SERVER span needs of its caller: a CallerContext, or for a request
 * refused at the HTTP edge before any session took it (src/listeners/), what
 * the listener knew (no client id when authentication is what failed).
 */
export type TracedCaller = Pick<CallerContext, "id" | "era" | "transport" | "protocolVersion"> & { clientId?: string };

/** client.address / client.port of a SERVER span: the socket the session connected on (or the refused request came on). */
export interface Peer {
  address: string;
  port?: number;
}

/** The peer of a socket, `::ffff:127.0.0.1` read as `127.0.0.1` (the IPv4 peer of a dual-stack socket). */
export function peerOf(socket: { remoteAddress?: string; remotePort?: number }): Peer | undefined {
  const address = socket.remoteAddress;
  if (address === undefined) return undefined;
  return { address: address.startsWith("::ffff:") ? address.slice(7) : address, port: socket.remotePort };
}

/** mcp.resource.uri of the request types that carry a resource URI (redacted: a URI may hold userinfo). */
function resourceUriOf(method: string, params: Record<string, unknown> | undefined): string | undefined {
  if (method !== "resources/read" && method !== "resources/subscribe" && method !== "resources/unsubscribe") return undefined;
  return typeof params?.uri === "string" ? redactText(params.uri) : undefined;
}

/** Longest recorded argument/result JSON (characters): a span is not a payload store. */
const MAX_CONTENT = 8192;

const content = (value: unknown): string | undefined => {
  if (value === undefined) return undefined;
  try {
    const s = JSON.stringify(value);
    return s.length > MAX_CONTENT ? `${s.slice(0, MAX_CONTENT)}...[truncated]` : s;
  } catch {
    return undefined;
  }
};

/**
 * One client request: its SERVER span, and (as the CallTrace of a forwarded
 * call) one CLIENT span per attempt upstream. While an attempt is out it sits
 * in front of the call's sink, so however the attempt ends (answer, fabricated
 * timeout or loss, cancellation) it sees it first.
 */
class RequestTrace implements CallTrace, CallSink {
  readonly startedAt = performance.now();
  readonly span?: Span;
  /** Requests that reused this one's id while it was open: the relay refuses them, and those answers are not this one's. */
  duplicates = 0;
  #attempts = 0;
  #firstReplica?: string;
  #attempt?: { span?: Span; startedAt: number; attrs: Attributes };
  #inner?: CallSink;

  constructor(
    readonly owner: ServerTracer,
    readonly caller: TracedCaller,
    readonly id: JsonRpcId,
    readonly method: string,
    readonly target: { tool?: string; prompt?: string },
    request: JsonRpcRequest,
    peer?: Peer,
  ) {
    const tracer = owner.options.tracer;
    if (tracer === undefined) return;
    const params = request.params as Record<string, unknown> | undefined;
    // Times from one monotonic clock (the SDK would anchor each span on Date.now(), whose milliseconds can put a child before its parent).
    this.span = tracer.startSpan(spanName(method, target.tool ?? target.prompt), { kind: SpanKind.SERVER, startTime: hrTime(this.startedAt) }, extractParent(request, params?._meta));
    if (!this.span.isRecording()) return;
    const a: Attributes = { [ATTR.requestId]: String(id), [GATEWAY_ATTR.clientId]: caller.clientId, [GATEWAY_ATTR.clientTransport]: caller.transport };
    if (caller.era === "legacy" && caller.id) a[ATTR.sessionId] = caller.id;
    if (peer !== undefined) {
      a[ATTR.clientAddress] = peer.address;
      if (peer.port !== undefined) a[ATTR.clientPort] = peer.port;
    }
    const uri = resourceUriOf(method, params);
    if (uri !== undefined) a[ATTR.resourceUri] = uri;
    if (owner.options.recordContent && method === "tools/call") {
      const args = content(params?.arguments);
      if (args !== undefined) a[ATTR.toolArguments] = args;
    }
    this.span.setAttributes(a);
  }

  /** Attributes the span and the server histogram share (the latter only low-cardinality ones). */
  common(): Attributes {
    const a: Attributes = { [ATTR.method]: this.method, [ATTR.networkTransport]: "tcp" };
    const p = clientProtocol(this.caller.transport);
    a[ATTR.networkProtocolName] = p.name;
    if (p.version) a[ATTR.networkProtocolVersion] = p.version;
    if (this.caller.protocolVersion) a[ATTR.protocolVersion] = this.caller.protocolVersion;
    if (this.target.tool !== undefined) {
      a[ATTR.toolName] = this.target.tool;
      a[ATTR.operationName] = "execute_tool";
    }
    if (this.target.prompt !== undefined) a[ATTR.promptName] = this.target.prompt;
    return a;
  }

  // ---- CallTrace: attempts upstream ------------------------------------------

  sending(connection: UpstreamConnection, request: JsonRpcRequest, call: PendingCall): void {
    // An attempt still open was superseded without an answer (its send failed, or an MRTR round was re-issued).
    this.#endAttempt({});
    this.#attempts++;
    this.#firstReplica ??= connection.replica;
    const e = this.owner.options.endpointOf(connection.upstream, connection.replica);
    const params = (request.params ??= {}) as Record<string, unknown>;
    const upstreamTarget = targetOf(request.method, params);
    const attrs: Attributes = { [ATTR.method]: request.method, [ATTR.networkTransport]: e.transport, [GATEWAY_ATTR.upstream]: connection.upstream };
    if (e.protocolName !== undefined) attrs[ATTR.networkProtocolName] = e.protocolName;
    if (e.protocolVersion !== undefined) attrs[ATTR.networkProtocolVersion] = e.protocolVersion;
    if (e.address !== undefined) attrs[ATTR.serverAddress] = e.address;
    if (e.port !== undefined) attrs[ATTR.serverPort] = e.port;
    const version = connection.identity?.protocolVersion;
    if (version) attrs[ATTR.protocolVersion] = version;
    if (upstreamTarget.tool !== undefined) {
      attrs[ATTR.toolName] = upstreamTarget.tool;
      attrs[ATTR.operationName] = "execute_tool";
    }
    if (upstreamTarget.prompt !== undefined) attrs[ATTR.promptName] = upstreamTarget.prompt;
    let span: Span | undefined;
    const tracer = this.owner.options.tracer;
    const startedAt = performance.now();
    if (tracer !== undefined && this.span !== undefined) {
      span = tracer.startSpan(spanName(request.method, upstreamTarget.tool ?? upstreamTarget.prompt), { kind: SpanKind.CLIENT, startTime: hrTime(startedAt) }, contextWith(this.span));
      if (span.isRecording()) {
        span.setAttributes(attrs);
        const s: Attributes = {
          [ATTR.requestId]: String(request.id),
          [GATEWAY_ATTR.replica]: connection.replica,
          [GATEWAY_ATTR.attempt]: this.#attempts,
          [GATEWAY_ATTR.retry]: this.#attempts > 1,
          [GATEWAY_ATTR.failover]: connection.replica !== this.#firstReplica,
        };
        const sid = connection.transport.sessionId;
        if (sid) s[ATTR.sessionId] = sid;
        // The upstream's own URI (the gateway may have rewritten a namespaced one).
        const uri = resourceUriOf(request.method, params);
        if (uri !== undefined) s[ATTR.resourceUri] = uri;
        if (this.owner.options.recordContent && request.method === "tools/call") {
          const args = content(params.arguments);
          if (args !== undefined) s[ATTR.toolArguments] = args;
        }
        span.setAttributes(s);
      }
      injectInto(params, span);
    }
    this.#attempt = { span, startedAt, attrs };
    if (call.sink !== this) {
      this.#inner = call.sink;
      call.sink = this;
    }
  }

  onUpstreamResponse(response: JsonRpcResponse, call: PendingCall): void {
    this.#endAttempt(outcomeOf(response), response);
    const inner = this.#unwrap(call);
    inner?.onUpstreamResponse(response, call);
  }

  onAbandon(call: PendingCall): void {
    this.#endAttempt({ errorType: "cancelled", message: "cancelled by the client" });
    const inner = this.#unwrap(call);
    inner?.onAbandon?.(call);
  }

  #unwrap(call: PendingCall): CallSink | undefined {
    const inner = this.#inner;
    if (call.sink === this && inner !== undefined) call.sink = inner;
    this.#inner = undefined;
    return inner;
  }

  #endAttempt(outcome: Outcome, response?: JsonRpcResponse): void {
    const attempt = this.#attempt;
    if (attempt === undefined) return;
    this.#attempt = undefined;
    const endedAt = performance.now();
    const seconds = (endedAt - attempt.startedAt) / 1000;
    const attrs = { ...attempt.attrs };
    if (outcome.errorType !== undefined) attrs[ATTR.errorType] = outcome.errorType;
    if (outcome.statusCode !== undefined) attrs[ATTR.statusCode] = outcome.statusCode;
    for (const sink of this.owner.options.sinks) sink.client(seconds, attrs);
    const span = attempt.span;
    if (span === undefined) return;
    if (span.isRecording()) {
      finish(span, outcome);
      if (response && this.owner.options.recordContent && outcome.errorType === undefined && "result" in response && this.method === "tools/call") {
        const r = content(response.result);
        if (r !== undefined) span.setAttribute(ATTR.toolResult, r);
      }
    }
    span.end(hrTime(endedAt));
  }

  /** The answer went out to the client. */
  end(answered: Outcome, message?: JsonRpcMessage): void {
    this.#endAttempt(answered);
    const outcome = serverOutcome(answered);
    const endedAt = performance.now();
    const seconds = (endedAt - this.startedAt) / 1000;
    const attrs = this.common();
    if (outcome.errorType !== undefined) attrs[ATTR.errorType] = outcome.errorType;
    if (outcome.statusCode !== undefined) attrs[ATTR.statusCode] = outcome.statusCode;
    for (const sink of this.owner.options.sinks) sink.server(seconds, attrs);
    const span = this.span;
    if (span === undefined) return;
    if (span.isRecording()) {
      span.setAttributes(attrs);
      finish(span, outcome);
      const m = message as { result?: unknown } | undefined;
      if (this.owner.options.recordContent && outcome.errorType === undefined && m?.result !== undefined && this.method === "tools/call") {
        const r = content(m.result);
        if (r !== undefined) span.setAttribute(ATTR.toolResult, r);
      }
    }
    span.end(hrTime(endedAt));
  }
}

function finish(span: Span, outcome: Outcome): void {
  if (outcome.statusCode !== undefined) span.setAttribute(ATTR.statusCode, outcome.statusCode);
  if (outcome.gatewayCode !== undefined) span.setAttribute(GATEWAY_ATTR.errorCode, outcome.gatewayCode);
  if (outcome.errorType === undefined) return;
  span.setAttribute(ATTR.errorType, outcome.errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message === undefined ? undefined : redactText(outcome.message) });
}

/**
 * The RelayTracer: SERVER spans for client requests, CLIENT spans for what
 * they cause upstream, and the three mcp.* histograms. Requests in flight
 * are kept per caller (a WeakMap: a caller that goes away takes them along).
 */
export class ServerTracer implements RelayTracer {
  readonly #open = new WeakMap<CallerContext, Map<JsonRpcId, RequestTrace>>();
  /** client.address/port of legacy sessions, noted when they connect (a modern caller is one request: the listener does not hand its socket on). */
  readonly #peers = new WeakMap<object, Peer>();

  constructor(readonly options: RelayTracerOptions) {}

  inbound(caller: CallerContext, message: JsonRpcMessage): void {
    const m = message as JsonRpcRequest;
    if (typeof m !== "object" || m === null || typeof m.method !== "string") return;
    if (m.id === undefined) {
      if (m.method === "notifications/cancelled") this.#cancelled(caller, m.params?.requestId as JsonRpcId);
      return;
    }
    if (typeof m.id !== "string" && typeof m.id !== "number") return;
    let open = this.#open.get(caller);
    if (open === undefined) this.#open.set(caller, (open = new Map()));
    const existing = open.get(m.id);
    if (existing !== undefined) {
      existing.duplicates++;
      return;
    }
    open.set(m.id, new RequestTrace(this, caller, m.id, m.method, targetOf(m.method, m.params), m, this.#peers.get(caller)));
  }

  /** A client session connected from `peer` (its SERVER spans carry it as client.address/port). */
  connected(caller: CallerContext, peer: Peer | undefined): void {
    if (peer !== undefined) this.#peers.set(caller, peer);
  }

  /**
   * A parsed request was refused at the HTTP edge, before a session took it
   * (authentication, session caps, an unknown session, a bad envelope): a
   * SERVER span that starts and ends here, in ERROR, counted in the server
   * histogram like any answered request. Not a request (a notification, a
   * response, no string method or no usable id): nothing.
   */
  refused(caller: TracedCaller, message: unknown, answer: JsonRpcMessage, peer?: Peer): void {
    const m = message as JsonRpcRequest | null;
    if (typeof m !== "object" || m === null || typeof m.method !== "string") return;
    if (typeof m.id !== "string" && typeof m.id !== "number") return;
    const params = typeof m.params === "object" && m.params !== null ? m.params : undefined;
    new RequestTrace(this, caller, m.id, m.method, targetOf(m.method, params), m, peer).end(outcomeOf(answer), answer);
  }

  answered(caller: CallerContext, id: JsonRpcId | null | undefined, message: JsonRpcMessage): void {
    if (id === null || id === undefined) return;
    const open = this.#open.get(caller);
    const t = open?.get(id);
    if (t === undefined) return;
    if (t.duplicates > 0) {
      t.duplicates--;
      return;
    }
    open!.delete(id);
    t.end(outcomeOf(message), message);
  }

  forwarding(caller: CallerContext, id: JsonRpcId): CallTrace | undefined {
    return this.#open.get(caller)?.get(id);
  }

  /** A legacy session ended: requests still open end with it, and its duration is recorded. */
  sessionEnded(caller: CallerContext & { createdAt?: number }): void {
    const open = this.#open.get(caller);
    if (open !== undefined) {
      for (const t of open.values()) t.end({ errorType: "session_ended", message: "client session ended" });
      this.#open.delete(caller);
    }
    if (caller.createdAt === undefined) return;
    const p = clientProtocol(caller.transport);
    const attrs: Attributes = { [ATTR.networkTransport]: "tcp", [ATTR.networkProtocolName]: p.name };
    if (caller.protocolVersion) attrs[ATTR.protocolVersion] = caller.protocolVersion;
    for (const sink of this.options.sinks) sink.session((Date.now() - caller.createdAt) / 1000, attrs);
  }

  #cancelled(caller: CallerContext, requestId: JsonRpcId): void {
    const open = this.#open.get(caller);
    const t = open?.get(requestId);
    if (t === undefined) return;
    open!.delete(requestId);
    t.end({ errorType: "cancelled", message: "cancelled by the client" });
  }
}
