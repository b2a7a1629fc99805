/**
 * The caller: what the relay, the middleware and the rules need to know about
 * whoever sent a request, whichever era or transport it came from. A legacy
 * `Session` is one (held for the life of the session); on the modern wire a
 * `ModernCaller` (src/eras/modern/caller.ts) is built per request. The relay
 * takes a CallerContext and never asks which one it has, except through `era`
 * where the two wires genuinely differ (server->client requests become MRTR
 * results on the modern wire). See docs/adr/0140-caller-context-and-eras.md.
 */
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.js";
import type { Era } from "./era.js";
import type { PendingCall, UpstreamConnection } from "../upstream/connection.js";
import type { ClientTransportKind } from "../telemetry/channels.js";
import type { ClientIdentity } from "../listeners/identity.js";

/** A server->client request forwarded to a caller, awaiting the caller's answer. */
export interface ForwardedServerRequest {
  connection: UpstreamConnection;
  upstreamId: JsonRpcId;
}

/**
 * Where a caller's replies go. `relatedId` is the caller's request a message
 * belongs to (progress, logs, the answer itself). Returns false when the
 * client is not keeping up or is gone.
 */
export interface ReplyChannel {
  send(message: JsonRpcMessage, relatedId?: JsonRpcId): boolean;
}

/** The relay's unit of work: one caller (a legacy session, or one modern request). */
export interface CallerContext extends ReplyChannel {
  /** Session id (legacy) or a per-request id (modern); for logs, events and rate-limit bookkeeping. */
  readonly id: string;
  /** The client, as authentication named it. */
  clientId: string;
  /** Scopes and claims, for tool rules. */
  identity?: ClientIdentity;
  /** Which wire the caller speaks. */
  readonly era: Era;
  /** The negotiated (legacy) or per-request (modern) protocol revision. */
  protocolVersion: string;
  /** What the client can be asked (sampling, elicitation, roots, ...). */
  clientCapabilities: Record<string, any>;
  clientInfo?: { name: string; version: string };
  /** Minimum log level the client wants; undefined: no log notifications. */
  logLevel?: string;
  /** The transport it arrived on (metrics, traces). */
  transport: ClientTransportKind;
  /** True once nobody can receive replies any more. */
  closed: boolean;
  /** False until the client may receive unsolicited notifications (legacy: after notifications/initialized). */
  initialized: boolean;
  /** Activity bookkeeping (session TTL, stats); a modern caller just counts. */
  lastActivity: number;
  messagesIn: number;
  /** Client requests in flight upstream, by the client's id. */
  inflight?: Map<JsonRpcId, PendingCall>;
  /** Server->client requests awaiting this caller's answer, by the id the caller saw. */
  serverRequests?: Map<JsonRpcId, ForwardedServerRequest>;
  /** Resource subscriptions (legacy `resources/subscribe`; modern callers use subscriptions/listen). */
  subscriptions?: Set<string>;
  /** Allocates the id under which a server->client request is shown to this caller. */
  nextServerRequestId(): string;
  /** The client acknowledged everything up to `seq` (legacy replay; a no-op on the modern wire). */
  ack(seq: number): void;
  /** Legacy: runs `send` (the initialize result) and notes where it was recorded for resume. */
  noteInitializeReply?(send: () => void): void;
  /** Legacy: notifications/initialized arrived, so the client has the initialize result (replay drops it). */
  releaseInitializeReply?(): void;
}
