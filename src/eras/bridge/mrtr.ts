/**
 * The MRTR bridge (modern client -> legacy upstream), and the sink of every
 * modern call. A legacy upstream asks its client questions with
 * server->client requests (sampling, elicitation, roots) in the middle of a
 * call; a modern client cannot be asked (SEP-2322): it gets an
 * `input_required` result instead, with the questions as `inputRequests` and
 * a sealed `requestState`, and retries the request with `inputResponses`.
 *
 * The sealed state says which of two ways back a retry takes:
 * - held (a legacy upstream asked): the upstream's pending request lives on
 *   the node that issued the state (the state names node and handle). The
 *   retry reaches that node, directly or forwarded whole over the cluster bus
 *   by whichever node it landed on, and the answers go to the upstream; the
 *   original call completes. It is never re-run: a retry whose held call is
 *   gone (answered, timed out after `modern.input_timeout`, cancelled, or its
 *   node died) gets `input_call_gone`, and the client sends the request
 *   afresh. Input keys are deterministic: the upstream may name one in the
 *   request's `_meta["mcp-gateway/input-key"]`; otherwise `<kind>-<n>`.
 * - through (a modern upstream asked itself, SEP-2322): stateless. The
 *   upstream's own `requestState` travels inside the gateway's seal with the
 *   upstream's name; the retry on any node unwraps it and sends the client's
 *   `inputResponses` with it to the upstream the body names (the state is
 *   refused if that is no longer the upstream it names). No node keeps
 *   anything between rounds.
 */
import { randomUUID } from "node:crypto";
import type { JsonRpcErrorResponse, JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { Sealer, SealedPayload } from "../../protocol/sealed.js";
import { GatewayError } from "../../errors/index.js";
import type { CallerSink, ModernCaller } from "../modern/caller.js";
import { missingCapability, relayedErrorForModern } from "../modern/errors.js";
import type { ModernExchange } from "../../listeners/modern-exchange.js";
import type { ClientIdentity } from "../../listeners/identity.js";
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
  /** "held": a call waits on `node` under `handle`; "through": a modern upstream's own round (stateless). */
  way: "held" | "through";
  /** The node holding the upstream's pending request, and its handle there (held only). */
  node?: string;
  handle?: string;
  /** The request it belongs to: a state is never accepted for another method or name. */
  method: string;
  name?: string;
  /** A modern upstream's own requestState (through; absent when the upstream gave none). */
  inner?: string;
  /** Who may hand it back: the client id and, for a self-named client, its binding (see ownsSession). */
  client?: string;
}

/** The owner key a state is bound to: a leaked requestState is useless to any other client. */
function ownerKey(identity: ClientIdentity | undefined): string | undefined {
  return identity === undefined ? undefined : identity.binding === undefined ? identity.clientId : `${identity.clientId} ${identity.binding}`;
}

/** What the bridge needs from the gateway. */
export interface BridgeDeps {
  /** Hands a message of `caller` to the middleware chain and the relay. */
  dispatch(caller: CallerContext, message: JsonRpcMessage): void;
  sealer: Sealer;
  /** This node's id on the cluster bus, or a per-process id (read per use: the cluster is installed later). */
  nodeId(): string;
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
  /** The era an upstream speaks (undefined: not connected), for rendering its errors on the modern wire. */
  upstreamEra?(upstream: string): "legacy" | "modern" | undefined;
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
   * already known (inputResponses sent with a first call, for a legacy
   * upstream's questions). `retried`: a modern upstream's round (never cached).
   */
  start(caller: ModernCaller, exchange: ModernExchange, request: JsonRpcRequest, upstream: string, answers: Record<string, unknown>, retried: boolean): void {
    const call = new BridgedCall(this, caller, exchange, request, upstream, answers, retried);
    caller.sink = call;
    this.deps.dispatch(caller, request);
  }

  /**
   * A held-way retry that reached the node named in its state: resumes the
   * held call. Throws `input_call_gone` when no call waits under the handle
   * any more (never re-runs it).
   */
  resume(state: RequestState, exchange: ModernExchange, inputResponses: Record<string, unknown>): void {
    const call = state.handle === undefined ? undefined : this.#held.get(state.handle);
    if (!call) throw new GatewayError("input_call_gone", { reason: "it was answered, timed out or cancelled" });
    this.#held.delete(state.handle!);
    call.attach(exchange, inputResponses);
  }

  /** Opens a client's requestState (throws sealed_state_invalid) and checks it belongs to `request` of `identity`. */
  openState(token: unknown, request: JsonRpcRequest, identity?: ClientIdentity): RequestState {
    const state = this.deps.sealer.open<RequestState>("request_state", token);
    if (state.client !== undefined && state.client !== ownerKey(identity)) {
      throw new GatewayError("sealed_state_invalid", { purpose: "request_state", reason: "it was issued to another client" });
    }
    if (state.way !== "held" && state.way !== "through") throw new GatewayError("sealed_state_invalid", { purpose: "request_state", reason: "it was issued by an older gateway version" });
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

  /** The held way's state: this node and the handle the retry finds the call under. */
  #seal(): string {
    return this.#sealState({ upstream: this.upstream, way: "held", node: this.bridge.deps.nodeId(), handle: this.handle, method: this.request.method });
  }

  #sealState(state: RequestState): string {
    if (this.#name !== undefined) state.name = this.#name;
    const client = ownerKey(this.caller.identity);
    if (client !== undefined) state.client = client;
    return this.bridge.deps.sealer.seal("request_state", state, this.bridge.deps.stateTtlMs());
  }

  /** A modern upstream asked for input itself: its state travels inside ours. */
  #passThrough(result: Record<string, unknown>): void {
    const exchange = this.#exchange;
    this.#over = true;
    this.bridge.release(this);
    if (exchange === null) return;
    const out: Record<string, unknown> = { ...result, resultType: "input_required" };
    // Stateless: everything the retry needs is in the token (no node, no handle).
    const state: RequestState = { upstream: this.upstream, way: "through", method: this.request.method };
    if (typeof result.requestState === "string") state.inner = result.requestState;
    out.requestState = this.#sealState(state);
    exchange.finish({ jsonrpc: "2.0", id: exchange.id, result: stampResult(this.request.method, out, this.bridge.deps.serverInfo, undefined) });
  }

  #deliver(response: JsonRpcResponse): void {
    const exchange = this.#exchange!;
    this.#over = true;
    this.caller.closed = true;
    this.bridge.release(this);
    clearTimeout(this.#gather);
    if ("error" in response) {
      const relayed = this.upstream === "" ? response : relayedErrorForModern(response, this.upstream, this.bridge.deps.upstreamEra?.(this.upstream));
      return exchange.finish({ ...resourceErrorOf(this.request.method, this.#name, relayed), id: exchange.id });
    }
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

