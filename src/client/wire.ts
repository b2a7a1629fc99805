/**
 * One connection attempt over one transport: the piece the client swaps when
 * it reconnects or fails over. A wire knows its wire format (WebSocket
 * envelopes, SSE events, Streamable HTTP exchanges) and nothing about
 * backoff, ordering or flow control, which the client does once for all.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** The three client transports of the gateway. */
export type TransportKind = "websocket" | "streamable_http" | "http_sse";

/** Where to resume: the session and the last seq delivered in order. */
export interface ResumePoint {
  sessionId: string;
  lastSeq: number;
}

/** Why a wire closed or refused. */
export type WireErrorKind =
  | "network"
  | "auth"
  | "session_not_found"
  | "rate_limited"
  | "refused"
  | "protocol"
  | "heartbeat";

/** A wire-level failure, classified for the client's retry decisions. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly kind: WireErrorKind,
    message: string,
    readonly info: {
      status?: number;
      /** Catalogue error named by the gateway. */
      error?: string;
      /** Auth reason: invalid_token | token_expired | missing_token. */
      reason?: string;
      /** Seconds. */
      retryAfter?: number | null;
      /** For a failed send: whether the gateway can have received it. */
      delivered?: "no" | "unknown";
      cause?: unknown;
    } = {},
  ) {
    super(message);
  }
}

/** What a wire reports to its client. */
export interface WireEvents {
  /** Connected and ready to carry messages. */
  onOpen(info: { sessionId?: string; lastSeq?: number; resumed: boolean }): void;
  /**
   * One server->client message. `seq` is undefined for messages the wire
   * format does not number (a Streamable HTTP JSON answer, bare WebSocket
   * frames); `message` is undefined for a seq that carries nothing (priming).
   * Returns false when the client could not keep it (no room): the wire must
   * not count it as received, so a resume fetches it again. Duplicates return true.
   */
  onMessage(message: JSONRPCMessage | undefined, seq: number | undefined): boolean;
  /** The gateway says it cannot replay `from..to`. */
  onGap(from: number, to: number): void;
  /** Any sign of life (bytes, heartbeat events, ping frames). */
  onActivity(): void;
  /** The wire is gone (called once; no error for a local close). */
  onClose(error?: WireError): void;
  /** A session id was assigned (Streamable HTTP learns it from the initialize answer). */
  onSessionId?(sessionId: string): void;
  /** The answer to request `id` can no longer arrive (its stream was lost with nothing to resume from). */
  onCallLost?(id: string | number, reason: string): void;
}

/** One connection over one transport. */
export interface Wire {
  readonly kind: TransportKind;
  /** Connects; reports through the events. `resume` continues an existing session. */
  connect(resume?: ResumePoint): void;
  /** Sends one message; rejects with a WireError when it could not. */
  send(message: JSONRPCMessage): Promise<void>;
  /** Acknowledges everything up to `seq`. */
  ack(seq: number): void;
  /** Closes locally (no onClose error). `endSession` asks the gateway to end the session too. */
  close(endSession?: boolean): void;
}

/** Connection settings every wire needs. */
export interface WireConfig {
  /** Gateway base URL, e.g. `http://127.0.0.1:4000`. */
  baseUrl: string;
  clientId?: string;
  /** Current bearer token (undefined: none). */
  token?: string;
  /** Extra HTTP headers (Node only; browsers restrict them). */
  headers?: Record<string, string>;
  fetch: typeof fetch;
  /** MCP-Protocol-Version to send once negotiated. */
  protocolVersion?: string;
  /** WebSocket constructor (Node 20 has none built in: pass `ws`). */
  WebSocket?: WebSocketConstructor;
}

/** The part of the WHATWG WebSocket API the client uses (the `ws` package has it too). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: the browser's global, or `ws` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Turns a refused HTTP answer into a WireError, reading the gateway's JSON
 * body (`{"error":"authentication_failed","reason":"token_expired",...}` or a
 * JSON-RPC error whose data names the catalogue error).
 */
export function classifyRefusal(status: number, bodyText: string, retryAfterHeader?: string | null): WireError {
  let error: string | undefined;
  let reason: string | undefined;
  let retryAfter: number | null | undefined;
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown>;
    const data = (body.error && typeof body.error === "object" ? (body.error as { data?: Record<string, unknown> }).data : body) ?? {};
    if (typeof data.error === "string") error = data.error;
    if (typeof data.reason === "string") reason = data.reason;
    if (typeof data.retry_after === "number") retryAfter = data.retry_after;
    if (typeof body.error === "string" && !error) error = body.error;
  } catch {
    // Not JSON (a proxy's HTML page): the status says enough.
  }
  if (retryAfter === undefined && retryAfterHeader && /^\d+$/.test(retryAfterHeader)) retryAfter = Number(retryAfterHeader);
  const info = { status, error, reason, retryAfter };
  if (status === 401 || error === "authentication_failed") return new WireError("auth", `authentication failed${reason ? ` (${reason})` : ""}`, info);
  if (error === "session_not_found" || (status === 404 && (error === undefined || bodyText.includes("ession")))) {
    return new WireError("session_not_found", "the gateway does not know this session", info);
  }
  if (status === 429 || error === "rate_limit_exceeded") return new WireError("rate_limited", `rate limited${retryAfter ? `, retry after ${retryAfter} s` : ""}`, info);
  return new WireError("refused", `gateway answered HTTP ${status}${error ? ` (${error})` : ""}`, info);
}

/** Builds a URL under the gateway's base URL with query parameters. */
export function gatewayUrl(baseUrl: string, path: string, query: Record<string, string | undefined> = {}): URL {
  const url = new URL(path.replace(/^\//, ""), baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** True when a fetch failure certainly happened before the request left (nothing was sent). */
export function neverSent(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } })?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}
