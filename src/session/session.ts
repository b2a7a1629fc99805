import type { JsonRpcId, JsonRpcMessage } from "../protocol/jsonrpc.js";
import { partsText, rawParts } from "../protocol/raw-reply.js";
import type { PendingCall } from "../upstream/connection.js";
import type { ClientTransportKind } from "../telemetry/channels.js";
import { ReplayBuffer } from "./replay-buffer.js";
import type { BufferBudget } from "./buffer-budget.js";
import { idKey } from "../protocol/validate.js";
import type { ClientIdentity } from "../listeners/identity.js";
import type { CallerContext, ForwardedServerRequest } from "../protocol/caller-context.js";

export type { ForwardedServerRequest } from "../protocol/caller-context.js";

/**
 * Where a session's outbound messages go: the client connection currently
 * attached (a WebSocket, an SSE stream, or the Streamable HTTP exchanges).
 */
export interface DownstreamSink {
  readonly kind: ClientTransportKind;
  /**
   * Delivers one message. `relatedId` is the client request it belongs to
   * (Streamable HTTP answers it on that POST's stream). Returns false when
   * the client is not keeping up.
   */
  deliver(message: JsonRpcMessage, relatedId: JsonRpcId | undefined, session: Session): boolean;
  /** Closes the client connection (code/reason for WebSocket). */
  close(code?: number, reason?: string): void;
  /** Bytes queued in the socket (for memory/queue diagnostics). */
  bufferedBytes?(): number;
  /**
   * True when the sink holds no client connection although it stays attached
   * (Streamable HTTP between requests): the session TTL runs. Absent: the
   * sink is a connection, and the TTL runs only once it is detached.
   */
  idle?(): boolean;
}

/**
 * Per-message outbound flow control (backpressure): decides whether a message
 * reaches `sink` now, later (bundled) or not at all (dropped). Returns what
 * `deliver` returns: false when the client is not keeping up.
 */
export interface OutboundGate {
  send(session: Session, sink: DownstreamSink, message: JsonRpcMessage, relatedId: JsonRpcId | undefined): boolean;
}

/**
 * A copy of every recorded message kept outside this process (the Redis event
 * log in cluster mode), so another node can resume the session. `append` runs
 * on the hot path: it must queue, never block or throw.
 */
export interface SessionEventLog {
  append(session: Session, seq: number, stream: string, json: string, last: boolean): void;
}

/**
 * One client's MCP session with the gateway. Small by design (an idle session
 * should cost a few KB): maps are created lazily, and the session holds no
 * upstream connection of its own; upstream connections are shared.
 */
export class Session implements CallerContext {
  /** Sessions are the legacy wire's callers. */
  readonly era = "legacy" as const;
  readonly createdAt = Date.now();
  lastActivity = this.createdAt;
  protocolVersion = "2025-03-26";
  clientCapabilities: Record<string, any> = {};
  clientInfo?: { name: string; version: string };
  initialized = false;
  closed = false;
  /** Why the last connection closed, when the gateway closed it (for traces). */
  closeReason?: string;
  /** Who the client proved to be at connect time (scopes and claims for tool rules). */
  identity?: ClientIdentity;
  #sink: DownstreamSink | null = null;
  #seq = 0;
  #replay?: ReplayBuffer;
  /** Client requests in flight upstream, by the client's id (for cancellation). */
  inflight?: Map<JsonRpcId, PendingCall>;
  /** Server->client requests awaiting the client's answer, by the id the client saw. */
  serverRequests?: Map<JsonRpcId, ForwardedServerRequest>;
  #nextServerRequestId = 0;
  /** Resource URIs this client subscribed to. */
  subscriptions?: Set<string>;
  /** Minimum log level the client asked for (logging/setLevel). */
  logLevel?: string;
  /** Outbound flow control (src/middleware/backpressure.ts); absent: messages go straight to the sink. */
  gate?: OutboundGate;
  /** Cluster mode: where recorded messages are also written (src/cluster/); absent on a single node. */
  eventLog?: SessionEventLog;
  /** Highest seq the client acknowledged (acks drive backpressure and trim the replay buffer). */
  ackedSeq = 0;
  /** Counters for stats. */
  messagesIn = 0;
  messagesOut = 0;
  /**
   * False for a session nobody can resume (a bare WebSocket without
   * `?resumable=1`, which ends with its socket): it keeps no replay buffer,
   * so its messages are sequenced but not retained.
   */
  keepsReplay = true;

  constructor(
    readonly id: string,
    public clientId: string,
    public transport: ClientTransportKind,
    readonly replayLimits: { size: number; bytes: number },
    /** The gateway-wide budget of replay and socket bytes (src/session/buffer-budget.ts). */
    readonly budget?: BufferBudget,
  ) {}

  /** The attached client connection, if any. */
  get sink(): DownstreamSink | null {
    return this.#sink;
  }

  /** Attaches a client connection; returns the previous one (the caller closes it). */
  attach(sink: DownstreamSink): DownstreamSink | null {
    const previous = this.#sink;
    this.#sink = sink;
    this.transport = sink.kind;
    return previous;
  }

  /** Detaches `sink` if it is still the attached one. */
  detach(sink: DownstreamSink): void {
    if (this.#sink === sink) {
      this.#sink = null;
      // The session TTL counts from the moment it lost its connection.
      this.lastActivity = Date.now();
      this.detachedAtSeq = this.#seq;
    }
  }

  /**
   * lastSeq when the last connection detached: a resume that names no
   * sequence number gets what was recorded after it (never sent anywhere).
   */
  detachedAtSeq = 0;

  /** Last sequence number assigned. */
  get lastSeq(): number {
    return this.#seq;
  }

  /** The replay buffer (created on first use). */
  get replay(): ReplayBuffer {
    return (this.#replay ??= new ReplayBuffer(this.replayLimits.size, this.replayLimits.bytes, this.budget));
  }

  /** True when a replay buffer exists and holds something. */
  get hasReplay(): boolean {
    return this.#replay !== undefined && this.#replay.size > 0;
  }

  /**
   * Assigns the next sequence number to a serialized message and keeps it for
   * resume. Sinks that stream (SSE, WebSocket) call this; plain JSON answers do not.
   */
  record(json: string, stream: string, last?: boolean): number {
    const seq = ++this.#seq;
    if (this.keepsReplay) this.replay.push(last ? { seq, stream, json, last } : { seq, stream, json });
    // Cluster mode: the shared event log (batched to Redis, never awaited here).
    if (this.eventLog !== undefined) this.eventLog.append(this, seq, stream, json, last === true);
    return seq;
  }

  /**
   * Continues sequence numbering after `seq` (a session taken over from
   * another node keeps its event ids unique). Never moves backwards.
   */
  continueAfter(seq: number): void {
    if (seq > this.#seq) this.#seq = seq;
  }

  /** Sends a message to the client (through the attached sink, if any). */
  send(message: JsonRpcMessage, relatedId?: JsonRpcId): boolean {
    this.messagesOut++;
    const sink = this.#sink;
    if (sink) return this.gate === undefined ? sink.deliver(message, relatedId, this) : this.gate.send(this, sink, message, relatedId);
    // Nobody attached: keep it for the client's resume.
    const parts = rawParts(message);
    this.record(parts === undefined ? JSON.stringify(message) : partsText(parts), relatedId === undefined ? "get" : idKey(relatedId));
    return false;
  }

  /** Records a client's acknowledgement of everything up to `seq`. */
  ack(seq: number): void {
    if (seq > this.ackedSeq && seq <= this.#seq) {
      this.ackedSeq = seq;
      this.#replay?.ackThrough(seq);
    }
  }

  /** Messages sent and not yet acknowledged. */
  get pendingAcks(): number {
    return this.#seq - this.ackedSeq;
  }

  /** Allocates the id under which a server->client request is shown to this client. */
  nextServerRequestId(): string {
    return `gw-${++this.#nextServerRequestId}`;
  }

  /**
   * Seq of the recorded initialize result (0: none). The result is the largest message an idle session
   * holds (the upstreams' instructions, a few KB); the client's notifications/initialized proves it
   * arrived, so it leaves the replay buffer then (releaseInitializeReply), without counting as an ack.
   */
  initializeReplySeq = 0;

  noteInitializeReply(send: () => void): void {
    const before = this.#seq;
    send();
    // Recorded (a streaming sink, no bundling): exactly one new seq, the result's.
    if (this.#seq === before + 1) this.initializeReplySeq = this.#seq;
  }

  /** The client sent notifications/initialized: it has the initialize result, which no resume needs again. */
  releaseInitializeReply(): void {
    if (this.initializeReplySeq === 0) return;
    this.#replay?.dropHead(this.initializeReplySeq);
    this.initializeReplySeq = 0;
  }

  /** Frees what the session holds against the gateway's budget (its session ended). */
  releaseBuffers(): void {
    this.#replay?.clear();
  }

  /** Idle time in ms. */
  idleMs(now = Date.now()): number {
    return now - this.lastActivity;
  }
}
