/**
 * One modern request's caller. Built per request from the `_meta` envelope
 * (there is no session on the modern wire), it gives the relay the same
 * CallerContext a legacy Session does; its replies go to a `CallerSink`
 * (the MRTR bridge of src/eras/bridge/), never to a registry broadcast.
 */
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, JsonRpcNotification } from "../../protocol/jsonrpc.js";
import type { CallerContext, ForwardedServerRequest } from "../../protocol/caller-context.js";
import type { PendingCall } from "../../upstream/connection.js";
import type { ClientIdentity } from "../../listeners/identity.js";
import type { Envelope } from "./envelope.js";
import { LOG_LEVELS } from "./envelope.js";

/** Where a modern caller's traffic goes: the call it belongs to decides what the client sees. */
export interface CallerSink {
  /** The relay's answer to the caller's request. */
  onResponse(response: JsonRpcResponse): void;
  /** An upstream's server->client request made during the call (sampling, elicitation, roots). */
  onServerRequest(request: JsonRpcRequest): void;
  /** A notification for the caller (progress, logs at or above its level, cancellation of a server request). */
  onNotification(notification: JsonRpcNotification): boolean;
}

let counter = 0;

/** A CallerContext for one modern request. */
export class ModernCaller implements CallerContext {
  readonly era = "modern" as const;
  /** `<scope><n>`: the scope tells this gateway's callers from another's in one process (telemetry). */
  readonly id: string;
  readonly transport = "streamable_http" as const;
  clientId: string;
  identity?: ClientIdentity;
  protocolVersion: string;
  clientCapabilities: Record<string, any>;
  clientInfo?: { name: string; version: string };
  logLevel?: string;
  closed = false;
  /** No unsolicited traffic reaches a modern caller: it is not in the session registry. */
  initialized = true;
  lastActivity = Date.now();
  messagesIn = 0;
  inflight?: Map<JsonRpcId, PendingCall>;
  serverRequests?: Map<JsonRpcId, ForwardedServerRequest>;
  subscriptions?: Set<string>;
  sink: CallerSink | null = null;
  /**
   * The client's `Mcp-Param-*` headers (SEP-2243), forwarded as they came to
   * a modern Streamable HTTP upstream; never read for any decision.
   */
  readonly paramHeaders?: Readonly<Record<string, string>>;
  #n = 0;

  constructor(identity: ClientIdentity, envelope: Envelope, paramHeaders?: Readonly<Record<string, string>>, scope = "m-") {
    this.id = `${scope}${(++counter).toString(36)}`;
    this.paramHeaders = paramHeaders;
    this.clientId = identity.clientId;
    this.identity = identity;
    this.protocolVersion = envelope.protocolVersion;
    this.clientCapabilities = envelope.clientCapabilities;
    this.clientInfo = envelope.clientInfo;
    this.logLevel = envelope.logLevel;
  }

  send(message: JsonRpcMessage, _relatedId?: JsonRpcId): boolean {
    const sink = this.sink;
    if (this.closed || sink === null) return false;
    const m = message as { method?: string; id?: JsonRpcId };
    if (m.method === undefined) {
      sink.onResponse(message as JsonRpcResponse);
      return true;
    }
    if (m.id !== undefined) {
      sink.onServerRequest(message as JsonRpcRequest);
      return true;
    }
    const n = message as JsonRpcNotification;
    // SEP-2575: log notifications only for requests that asked for them, at or above their level.
    if (n.method === "notifications/message") {
      if (this.logLevel === undefined) return true;
      if (LOG_LEVELS.indexOf(String(n.params?.level) as never) < LOG_LEVELS.indexOf(this.logLevel as never)) return true;
    }
    return sink.onNotification(n);
  }

  nextServerRequestId(): string {
    return `gw-${++this.#n}`;
  }

  /** Replay acknowledgements do not exist on the modern wire. */
  ack(): void {}
}
