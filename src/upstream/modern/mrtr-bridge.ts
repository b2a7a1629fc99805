import type { JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { MessageExtra } from "../../protocol/transport.js";
import type { PendingCall } from "../connection.js";
import { GatewayError, toJsonRpcError } from "../../errors/index.js";

/** The input requests a legacy client can answer as server->client requests. */
const BRIDGEABLE = new Set(["sampling/createMessage", "elicitation/create", "roots/list"]);
/** Rounds of input_required one call may take before the bridge calls it a loop. */
const MAX_ROUNDS = 16;
/** Prefix of the ids the bridge gives its synthesized server->client requests (they never go upstream). */
const ID_PREFIX = "mrtr:";

/** What the bridge needs of its connection. */
export interface BridgeHost {
  readonly upstream: string;
  /** Hands a server->client request to the relay (attributed exactly through `extra.relatedRequestId`). */
  ask(request: JsonRpcRequest, extra: MessageExtra): void;
  /** Sends the call again under a fresh upstream id (the MRTR retry). */
  reissue(call: PendingCall, request: JsonRpcRequest): void;
  /** Ends the call with this answer (id is mapped back to the caller's). */
  settle(call: PendingCall, response: JsonRpcResponse): void;
  /** True while the call is still waiting upstream (not answered, cancelled or timed out). */
  live(call: PendingCall): boolean;
}

interface Round {
  call: PendingCall;
  request: JsonRpcRequest;
  requestState?: string;
  /** Keys still unanswered, by the synthesized request id. */
  open: Map<string, string>;
  responses: Record<string, unknown>;
  rounds: number;
}

/**
 * Legacy client -> modern upstream: a modern upstream asks for client input
 * with an `input_required` result (SEP-2322 MRTR); a legacy client only knows
 * server->client requests. The bridge turns each embedded input request into
 * a real `sampling/createMessage` / `elicitation/create` / `roots/list` to the
 * calling client (through the relay's usual server-request routing), collects
 * the answers, and retries the original request with `inputResponses` and the
 * upstream's `requestState` until a final result comes. The call's own
 * deadline bounds the whole exchange; a refused or failed answer ends the
 * call with that error.
 */
export class MrtrBridge {
  /** Calls whose caller is legacy (their request carried no envelope): only these are bridged. */
  readonly #bridged = new WeakMap<PendingCall, JsonRpcRequest>();
  readonly #rounds = new WeakMap<PendingCall, Round>();
  readonly #asked = new Map<string, Round>();
  #seq = 0;

  constructor(readonly host: BridgeHost) {}

  /** Marks a forwarded call as a legacy caller's: its `input_required` results are bridged. */
  track(call: PendingCall, request: JsonRpcRequest): void {
    this.#bridged.set(call, request);
  }

  /** An upstream answer to a call; true when the bridge took it over (an input_required for a legacy caller). */
  onResponse(response: JsonRpcResponse, call: PendingCall): boolean {
    if (!("result" in response) || response.result?.resultType !== "input_required") {
      this.#rounds.delete(call);
      return false;
    }
    const request = this.#bridged.get(call);
    if (!request) return false; // a modern caller handles its own rounds
    const result = response.result as { inputRequests?: Record<string, { method?: string; params?: Record<string, unknown> }>; requestState?: unknown };
    const prior = this.#rounds.get(call);
    const round: Round = {
      call,
      request,
      requestState: typeof result.requestState === "string" ? result.requestState : undefined,
      open: new Map(),
      responses: {},
      rounds: (prior?.rounds ?? 0) + 1,
    };
    this.#rounds.set(call, round);
    if (round.rounds > MAX_ROUNDS) return this.#fail(round, `it asked for client input ${MAX_ROUNDS} times in a row; giving up`);
    const inputs = Object.entries(result.inputRequests ?? {});
    for (const [, input] of inputs) {
      if (!input || typeof input.method !== "string" || !BRIDGEABLE.has(input.method)) {
        return this.#fail(round, `it asked for input "${String(input?.method)}", which has no legacy (2025-11-25) counterpart`);
      }
    }
    if (inputs.length === 0) {
      // Only state to carry (a server checkpointing a long operation): retry straight away.
      this.#retry(round);
      return true;
    }
    for (const [key, input] of inputs) {
      const id = `${ID_PREFIX}${++this.#seq}`;
      round.open.set(id, key);
      this.#asked.set(id, round);
      this.host.ask({ jsonrpc: "2.0", id, method: input.method!, params: legacyParams(input.method!, input.params ?? {}, id) }, { relatedRequestId: call.upstreamId });
    }
    return true;
  }

  /** A client's answer on its way upstream; true when it answers one of the bridge's requests. */
  onClientAnswer(message: JsonRpcResponse): boolean {
    const id = message.id;
    if (typeof id !== "string" || !id.startsWith(ID_PREFIX)) return false;
    const round = this.#asked.get(id);
    this.#asked.delete(id);
    if (!round) return true;
    const key = round.open.get(id);
    round.open.delete(id);
    if (!this.host.live(round.call) || this.#rounds.get(round.call) !== round || key === undefined) return true;
    if ("error" in message) {
      return this.#fail(round, `the client could not answer ${round.request.method}'s input request "${key}": ${message.error.message}`);
    }
    round.responses[key] = message.result;
    if (round.open.size === 0) this.#retry(round);
    return true;
  }

  /** The call ended some other way (cancelled, timed out, connection lost). */
  forget(call: PendingCall): void {
    const round = this.#rounds.get(call);
    this.#rounds.delete(call);
    if (round) for (const id of round.open.keys()) this.#asked.delete(id);
  }

  #retry(round: Round): void {
    const params = (round.request.params ??= {});
    if (Object.keys(round.responses).length > 0) params.inputResponses = round.responses;
    else delete params.inputResponses;
    if (round.requestState !== undefined) params.requestState = round.requestState;
    else delete params.requestState;
    this.host.reissue(round.call, round.request);
  }

  /** Ends the call with `upstream_error` naming why the bridge could not complete it. */
  #fail(round: Round, reason: string): true {
    this.forget(round.call);
    this.host.settle(round.call, toJsonRpcError(new GatewayError("upstream_error", { upstream: this.host.upstream, reason }), round.call.originalId));
    return true;
  }
}

/**
 * Embedded requests of 2026-07-28 drop a few fields the 2025 shapes need:
 * URL-mode elicitation has no `elicitationId` any more (the state carries the
 * correlation), so the bridge mints one.
 */
function legacyParams(method: string, params: Record<string, unknown>, id: string): Record<string, unknown> {
  if (method === "elicitation/create" && params.mode === "url" && params.elicitationId === undefined) return { ...params, elicitationId: id };
  return params;
}
