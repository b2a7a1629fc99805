/**
 * What the client remembers about its MCP session so that it can recreate it
 * after the gateway lost it (process restart, expiry): the initialize
 * request the application sent, whether it finished the handshake, the
 * resources it subscribed to and the log level it asked for; and the
 * requests still waiting for an answer, so they can be failed clearly
 * instead of hanging.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { CLIENT_CALL_LOST_CODE } from "./errors.js";

type Id = string | number;
interface Loose {
  id?: Id;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: unknown;
}

/** Session facts observed on the client's own traffic. */
export class SessionMemory {
  /** Params of the application's initialize request. */
  initializeParams?: Record<string, unknown>;
  /** The application sent notifications/initialized. */
  initialized = false;
  /** Negotiated protocol version (from the initialize answer). */
  protocolVersion?: string;
  readonly subscriptions = new Set<string>();
  logLevel?: string;
  /** Application requests awaiting an answer. */
  readonly inflight = new Map<Id, JSONRPCMessage>();
  #initializeId?: Id;

  /** Observes an outgoing message. */
  outgoing(message: JSONRPCMessage): void {
    const m = message as Loose;
    if (m.method === undefined) return;
    if (m.id !== undefined) {
      this.inflight.set(m.id, message);
      switch (m.method) {
        case "initialize":
          this.initializeParams = m.params;
          this.#initializeId = m.id;
          return;
        case "resources/subscribe":
          if (typeof m.params?.uri === "string") this.subscriptions.add(m.params.uri);
          return;
        case "resources/unsubscribe":
          if (typeof m.params?.uri === "string") this.subscriptions.delete(m.params.uri);
          return;
        case "logging/setLevel":
          if (typeof m.params?.level === "string") this.logLevel = m.params.level;
          return;
      }
      return;
    }
    if (m.method === "notifications/initialized") this.initialized = true;
  }

  /** Observes an incoming response to one of the application's requests. */
  answered(message: JSONRPCMessage): void {
    const m = message as Loose;
    if (m.id === undefined || m.method !== undefined) return;
    if (!this.inflight.delete(m.id)) return;
    if (m.id === this.#initializeId && m.result && typeof m.result.protocolVersion === "string") {
      this.protocolVersion = m.result.protocolVersion;
    }
  }

  /** True when the session went through initialize and can be recreated. */
  get canRecreate(): boolean {
    return this.initializeParams !== undefined && this.initialized;
  }

  /**
   * Takes the requests in flight out of the table: those to re-send on a new
   * session (an unanswered initialize) and those to fail.
   */
  takeInflight(): { resend: JSONRPCMessage[]; fail: Id[] } {
    const resend: JSONRPCMessage[] = [];
    const fail: Id[] = [];
    for (const [id, message] of this.inflight) {
      if ((message as Loose).method === "initialize" && !this.initialized) resend.push(message);
      else fail.push(id);
    }
    this.inflight.clear();
    return { resend, fail };
  }

  /** Requests that recreate the session's state after a new initialize (log level, subscriptions). */
  restoreRequests(): Array<{ method: string; params: Record<string, unknown> }> {
    const out: Array<{ method: string; params: Record<string, unknown> }> = [];
    if (this.logLevel) out.push({ method: "logging/setLevel", params: { level: this.logLevel } });
    for (const uri of this.subscriptions) out.push({ method: "resources/subscribe", params: { uri } });
    return out;
  }
}

/** A JSON-RPC error answer the client makes up for a call it cannot complete. */
export function lostCallAnswer(id: Id, code: string, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code: CLIENT_CALL_LOST_CODE, message, data: { error: code } } } as JSONRPCMessage;
}
