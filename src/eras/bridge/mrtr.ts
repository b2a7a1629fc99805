/**
 * The MRTR bridge (modern client -> legacy upstream), and the sink of every
 * modern call. A legacy upstream asks its client questions with
 * server->client requests (sampling, elicitation, roots) in the middle of a
 * call; a modern client cannot be asked (SEP-2322): it gets an
 * `input_required` result instead, with the questions as `inputRequests` and
 * a sealed `requestState`, and retries the request with `inputResponses`.
 *
 * Two ways back, both driven by the sealed state:
 * - held: the retry reaches the node that holds the upstream's pending
 *   request (the state names node and handle); the answers go to the
 *   upstream and the original call completes. A held call waits at most
 *   `modern.input_timeout`; then the upstream's questions are answered with
 *   `input_timeout` and the call is cancelled.
 * - replayed: anywhere else (another node, or after the timeout) the request
 *   runs again, and the upstream's questions are answered from the answers
 *   the state accumulated plus the retry's `inputResponses`, matched by key.
 *   Keys are deterministic: the upstream may name one in the request's
 *   `_meta["mcp-gateway/input-key"]`; otherwise `<kind>-<n>` by order asked.
 *
 * An upstream that itself answers `input_required` (a modern upstream) is
 * passed through with its own state wrapped in the gateway's seal (`inner`).
 */
import { randomUUID } from "node:crypto";
import type { JsonRpcErrorResponse, JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { Sealer, SealedPayload } from "../../protocol/sealed.js";
import { GatewayError } from "../../errors/index.js";
import type { CallerSink, ModernCaller } from "../modern/caller.js";
import { missingCapability } from "../modern/errors.js";
import type { ModernExchange } from "../../listeners/modern-exchange.js";
import { stampResult, type CacheHint } from "../modern/results.js";

/** `_meta` key a legacy upstream may use to name its input request (the key the client sees). */
export const INPUT_KEY_META = "mcp-gateway/input-key";

/** The capability each server->client request needs, and the short name of its default key. */
const ASKS: Record<string, { capability: string; kind: string }> = {
  "sampling/createMessage": { capability: "sampling", kind: "sampling" },
  "elicitation/create": { capability: "elicitation", kind: "elicitation" },
  "roots/list": { capability: "roots", kind: "roots" },
};

/** What a gateway `requestState` holds (sealed; the client cannot read or change it). */
export interface RequestState extends SealedPayload {
  /** The node holding the upstream's pending request, and its handle there. */
  node: string;
  handle: string;
  /** The request it belongs to: a state is never accepted for another method or name. */
  method: string;
  name?: string;
  /** Every answer given so far, by key (replays answer from these). */
  answers: Record<string, unknown>;
  /** A modern upstream's own requestState (pass-through). */
  inner?: string;
}

/** What the bridge needs from the gateway. */
export interface BridgeDeps {
  /** Hands a message of `caller` to the middleware chain and the relay. */
  dispatch(caller: CallerContext, message: JsonRpcMessage): void;
  sealer: Sealer;
  /** This node's id (cluster mode) or a per-process id. */
  nodeId: string;
  serverInfo: { name: string; version: string };
  /** modern.input_timeout (ms): how long a held call waits for the client's retry. */
  inputTimeoutMs(): number;
  /** modern.state_ttl (ms): how long a requestState opens. */
  stateTtlMs(): number;
  /** The caching hint of a result (undefined: not cacheable). */
  hintFor(method: string, result: Record<string, unknown>, caller: CallerContext, retried: boolean): CacheHint | undefined;
  /** Attribution lanes (Relay.parkLane/unparkLane): a held call gives its lane away until the retry. */
  parkLane(caller: CallerContext, requestId: JsonRpcId): void;
  unparkLane(caller: CallerContext, requestId: JsonRpcId, run: () => void): void;
  /** Post-processing of a complete result (task ids sealed, lists sorted); an error instead fails the call. */
  finishResult?(method: string, upstream: string, result: Record<string, unknown>, caller: CallerContext): Record<string, unknown> | GatewayError;
}

/** Asks are collected this long before an input_required goes out, so concurrent asks travel together. */
const GATHER_MS = 15;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Held calls of this node, by handle. */
export class InputBridge {
  readonly #held = new Map<string, BridgedCall>();

  constructor(readonly deps: BridgeDeps) {}

  /** Number of calls waiting for a client's retry (stats, tests). */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Runs `request` for `caller`, answering on `exchange`. `answers`: input
   * already known (a replay's, or inputResponses sent with a first call).
   */
  start(caller: ModernCaller, exchange: ModernExchange, request: JsonRpcRequest, upstream: string, answers: Record<string, unknown>, retried: boolean, inner?: string): void {
    const call = new BridgedCall(this, caller, exchange, request, upstream, answers, retried);
    caller.sink = call;
    if (inner !== undefined) request.params = { ...request.params, requestState: inner };
    this.deps.dispatch(caller, request);
  }

  /** A retry for a call this node holds: true when it was resumed here. */
  resume(state: RequestState, exchange: ModernExchange, inputResponses: Record<string, unknown>): boolean {
    if (state.node !== this.deps.nodeId) return false;
    const call = this.#held.get(state.handle);
    if (!call) return false;
    this.#held.delete(state.handle);
    call.attach(exchange, inputResponses);
    return true;
  }

  /** Opens a client's requestState (throws sealed_state_invalid) and checks it belongs to `request`. */
  openState(token: unknown, request: JsonRpcRequest): RequestState {
    const state = this.deps.sealer.open<RequestState>("request_state", token);
    const name = request.params?.name ?? request.params?.uri;
    if (state.method !== request.method || (state.name !== undefined && state.name !== name)) {
      throw new GatewayError("sealed_state_invalid", { purpose: "request_state", reason: "it belongs to another request" });
    }
    return state;
  }

  hold(call: BridgedCall): void {
    this.#held.set(call.handle, call);
  }

  release(call: BridgedCall): void {
    const handle = call.heldHandle;
    if (handle !== undefined && this.#held.get(handle) === call) this.#held.delete(handle);
  }
}

/** One modern call through the relay: the caller's sink, and the MRTR bookkeeping when its upstream asks. */
class BridgedCall implements CallerSink {
  #handle?: string;
  /** Where this node finds the call again on the retry (allocated only when the call is held). */
  get handle(): string {
    return (this.#handle ??= randomUUID());
  }

  /** The handle, if the call was ever held. */
  get heldHandle(): string | undefined {
    return this.#handle;
  }
  #exchange: ModernExchange | null;
  /** Asked and not answered yet, by key. */
  readonly #pending = new Map<string, { downId: JsonRpcId; method: string; params: Record<string, unknown> }>();
  #asked = 0;
  #gather?: NodeJS.Timeout;
  #holdTimer?: NodeJS.Timeout;
  /** The final answer, when it came while no exchange was attached. */
  #final?: JsonRpcResponse;
  #over = false;
  /** Captured before dispatch: the relay rewrites the request's id and name on the way upstream. */
  readonly #originalId: JsonRpcId;
  readonly #name: string | undefined;

  constructor(
    readonly bridge: InputBridge,
    readonly caller: ModernCaller,
    exchange: ModernExchange,
    readonly request: JsonRpcRequest,
    readonly upstream: string,
    readonly answers: Record<string, unknown>,
    public retried: boolean,
  ) {
    this.#exchange = exchange;
    this.#originalId = request.id;
    const p = request.params ?? {};
    this.#name = typeof p.name === "string" ? p.name : typeof p.uri === "string" ? p.uri : undefined;
    exchange.onAbort = () => this.abort();
  }

  onServerRequest(req: JsonRpcRequest): void {
    const ask = ASKS[req.method];
    if (!ask) return this.#answerUpstream(req.id, undefined, { code: -32601, message: `Method not found: ${req.method}` });
    const index = ++this.#asked;
    const params = { ...(req.params ?? {}) };
    let key = `${ask.kind}-${index}`;
    if (isObject(params._meta) && typeof params._meta[INPUT_KEY_META] === "string") {
      key = params._meta[INPUT_KEY_META] as string;
      const { [INPUT_KEY_META]: _, ...rest } = params._meta;
      if (Object.keys(rest).length > 0) params._meta = rest;
      else delete params._meta;
    }
    if (!this.caller.clientCapabilities[ask.capability]) {
      // A client without roots has none (as on the legacy wire); sampling and elicitation are required.
      if (ask.capability === "roots") return this.#answerUpstream(req.id, { roots: [] });
      this.#answerUpstream(req.id, undefined, { code: -32601, message: `the client did not declare the ${ask.capability} capability` });
      return this.#fail(missingCapability({ [ask.capability]: {} }));
    }
    const known = this.answers[key];
    if (known !== undefined) return this.#give(key, req.id, known);
    this.#pending.set(key, { downId: req.id, method: req.method, params });
    if (this.#exchange !== null && this.#gather === undefined) this.#gather = setTimeout(() => this.#flush(), GATHER_MS);
  }

  onNotification(n: JsonRpcNotification): boolean {
    if (n.method === "notifications/cancelled") {
      // The upstream gave up on one of its questions: stop asking it.
      for (const [key, p] of this.#pending) if (p.downId === n.params?.requestId) this.#pending.delete(key);
      return true;
    }
    return this.#exchange?.notify(n) ?? false;
  }

  onResponse(response: JsonRpcResponse): void {
    if (this.#over) return;
    const result = (response as { result?: Record<string, unknown> }).result;
    if (result !== undefined && result.resultType === "input_required") return this.#passThrough(result);
    if (this.#exchange === null) {
      // Answered while the client is between rounds: it gets it on its retry.
      this.#final = response;
      return;
    }
    this.#deliver(response);
  }

  /** The client came back with answers (held path). */
  attach(exchange: ModernExchange, inputResponses: Record<string, unknown>): void {
    clearTimeout(this.#holdTimer);
    this.#exchange = exchange;
    exchange.onAbort = () => this.abort();
    this.retried = true;
    for (const [key, value] of Object.entries(inputResponses)) this.answers[key] = value;
    if (this.#final !== undefined) return this.#deliver(this.#final);
    this.bridge.deps.unparkLane(this.caller, this.#originalId, () => {
      if (this.#over) return;
      for (const [key, p] of [...this.#pending]) {
        const answer = this.answers[key];
        if (answer !== undefined) this.#give(key, p.downId, answer);
        if (this.#over) return;
      }
      // Still unanswered: ask again (SEP-2322: re-request missing input, not an error).
      if (this.#pending.size > 0) this.#flush();
    });
  }

  /** Sends an answer upstream after checking its shape. */
  #give(key: string, downId: JsonRpcId, answer: unknown): void {
    this.#pending.delete(key);
    if (!isObject(answer)) {
      this.#answerUpstream(downId, undefined, { code: -32602, message: "the client's answer was not an object" });
      return this.#fail(new GatewayError("invalid_params", { detail: `inputResponses["${key}"] must be an object` }));
    }
    this.answers[key] = answer;
    this.#answerUpstream(downId, answer);
  }

  #answerUpstream(downId: JsonRpcId, result?: Record<string, unknown>, error?: { code: number; message: string }): void {
    const message = (error ? { jsonrpc: "2.0", id: downId, error } : { jsonrpc: "2.0", id: downId, result }) as JsonRpcResponse;
    this.bridge.deps.dispatch(this.caller, message);
  }

  /** Sends the questions gathered so far as an input_required result, and holds the call for the retry. */
  #flush(): void {
    clearTimeout(this.#gather);
    this.#gather = undefined;
    const exchange = this.#exchange;
    if (this.#over || exchange === null || this.#pending.size === 0) return;
    const inputRequests: Record<string, unknown> = {};
    for (const [key, p] of this.#pending) inputRequests[key] = { method: p.method, params: p.params };
    const requestState = this.#seal();
    this.#exchange = null;
    this.bridge.hold(this);
    this.bridge.deps.parkLane(this.caller, this.#originalId);
    const timeout = this.bridge.deps.inputTimeoutMs();
    this.#holdTimer = setTimeout(() => this.#expire(timeout), timeout);
    this.#holdTimer.unref();
    exchange.finish({ jsonrpc: "2.0", id: exchange.id, result: stampResult(this.request.method, { resultType: "input_required", inputRequests, requestState }, this.bridge.deps.serverInfo, undefined) });
  }

  #seal(inner?: string): string {
    const name = this.#name;
    const state: RequestState = { upstream: this.upstream, node: this.bridge.deps.nodeId, handle: this.handle, method: this.request.method, answers: this.answers };
    if (name !== undefined) state.name = name;
    if (inner !== undefined) state.inner = inner;
    return this.bridge.deps.sealer.seal("request_state", state, this.bridge.deps.stateTtlMs());
  }

  /** A modern upstream asked for input itself: its state travels inside ours. */
  #passThrough(result: Record<string, unknown>): void {
    const exchange = this.#exchange;
    this.#over = true;
    this.bridge.release(this);
    if (exchange === null) return;
    const out: Record<string, unknown> = { ...result, resultType: "input_required" };
    out.requestState = this.#seal(typeof result.requestState === "string" ? result.requestState : undefined);
    exchange.finish({ jsonrpc: "2.0", id: exchange.id, result: stampResult(this.request.method, out, this.bridge.deps.serverInfo, undefined) });
  }

  #deliver(response: JsonRpcResponse): void {
    const exchange = this.#exchange!;
    this.#over = true;
    this.caller.closed = true;
    this.bridge.release(this);
    clearTimeout(this.#gather);
    if ("error" in response) return exchange.finish({ ...resourceErrorOf(this.request.method, this.#name, response), id: exchange.id });
    const deps = this.bridge.deps;
    let result = response.result;
    if (deps.finishResult) {
      const finished = deps.finishResult(this.request.method, this.upstream, result, this.caller);
      if (finished instanceof GatewayError) return exchange.fail(finished);
      result = finished;
    }
    const hint = deps.hintFor(this.request.method, result, this.caller, this.retried);
    exchange.finish({ jsonrpc: "2.0", id: exchange.id, result: stampResult(this.request.method, result, deps.serverInfo, hint) });
  }

  /** Ends the call with an error to the client; the upstream's call is cancelled. */
  #fail(err: GatewayError): void {
    if (this.#over) return;
    const exchange = this.#exchange;
    this.#cancelUpstream(err.message);
    if (exchange) exchange.fail(err);
  }

  /** The client went away mid-call (closing the stream cancels on this wire). */
  abort(): void {
    if (this.#over || this.#exchange === null) return;
    this.#exchange = null;
    this.#cancelUpstream("the client closed the request");
  }

  #cancelUpstream(reason: string): void {
    this.#over = true;
    clearTimeout(this.#gather);
    clearTimeout(this.#holdTimer);
    this.bridge.release(this);
    for (const p of this.#pending.values()) this.#answerUpstream(p.downId, undefined, { code: -32603, message: reason });
    this.#pending.clear();
    this.bridge.deps.dispatch(this.caller, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: this.#originalId, reason } });
    this.caller.closed = true;
  }

  /** The client never came back: the upstream's questions get input_timeout and the call is cancelled. */
  #expire(timeoutMs: number): void {
    if (this.#over) return;
    const first = this.#pending.values().next().value;
    const err = new GatewayError("input_timeout", { method: first?.method ?? this.request.method, timeout_ms: timeoutMs });
    for (const p of this.#pending.values()) this.#answerUpstream(p.downId, undefined, { code: -32042, message: err.message });
    this.#pending.clear();
    this.#cancelUpstream(err.message);
  }
}

/**
 * SEP-2164 on the modern wire: an unknown resource is -32602 with the URI in
 * `data` (legacy upstreams answer -32002, or -32602 without data).
 */
function resourceErrorOf(method: string, uri: string | undefined, response: JsonRpcErrorResponse): JsonRpcErrorResponse {
  const { code, data } = response.error;
  if (method !== "resources/read" || uri === undefined || (code !== -32002 && code !== -32602)) return response;
  const merged = typeof data === "object" && data !== null ? { uri, ...(data as Record<string, unknown>) } : { uri };
  return { ...response, error: { ...response.error, code: -32602, data: merged } };
}

/** Reads `inputResponses` of a request: absent is {}, anything but an object is a protocol error. */
export function inputResponsesOf(request: JsonRpcRequest): Record<string, unknown> {
  const v = request.params?.inputResponses;
  if (v === undefined) return {};
  if (!isObject(v)) throw new GatewayError("invalid_params", { detail: "inputResponses must be an object keyed by input request" });
  return v;
}

