/**
 * GatewayClient: an MCP SDK `Transport` that talks to the gateway over
 * WebSocket, Streamable HTTP or HTTP+SSE and hides every drop behind it.
 *
 *   const transport = new GatewayClient({ url, WebSocket });
 *   await new Client(info).connect(transport);
 *
 * What it does once, for all three wires: reconnect with backoff, fail over
 * to the next transport after `failoverThreshold` failures, resume the same
 * session from the last seq delivered (no loss, no duplicate), deliver in
 * order (reorder buffer), keep at most `maxPending` messages unacknowledged
 * in the application's hands and ack the rest, refresh tokens, detect dead
 * connections, and recreate the session when the gateway lost it. Resume is
 * internal: the SDK's Client never sees a reconnect and never re-initializes.
 */
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";
import { Liveness } from "./liveness.js";
import { ReconnectPlanner } from "./reconnect-planner.js";
import { TypedEmitter } from "./emitter.js";
import { GatewayClientError } from "./errors.js";
import { FlowController } from "./flow-control.js";
import { resolveOptions, type GatewayClientOptions, type ResolvedOptions } from "./options.js";
import { MessageSequencer } from "./sequencer.js";
import { lostCallAnswer, SessionMemory } from "./session-memory.js";
import { recreateSession } from "./session-recovery.js";
import { createWire, type ClientWire, type WireFactory } from "./wire-factory.js";
import { HttpStreamState } from "./wire-streamable-http.js";
import type { TransportKind, WireConfig, WireError, WireEvents } from "./wire.js";

/** The client's connection state. */
export type GatewayClientState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** Typed events of a {@link GatewayClient}. */
export interface GatewayClientEvents {
  /** Connected (first time, or again after a drop). */
  open: { transport: TransportKind; sessionId?: string; resumed: boolean };
  /** Closed for good (by `close()`, or after giving up). */
  close: { reason: string; error?: GatewayClientError };
  /** A connection attempt is scheduled. */
  reconnecting: { transport: TransportKind; attempt: number; delayMs: number; reason: string };
  /** Switching to the next transport after `failoverThreshold` failures. */
  transport_switch: { from: TransportKind; to: TransportKind; reason: string; sessionId?: string; lastSeq: number };
  /** A hole in the sequence: being resumed, or skipped because the gateway cannot replay it. */
  gap: { from: number; to: number; action: "resume" | "skipped" };
  /** The gateway lost the session; the client re-initializes (or gives up). */
  session_lost: { sessionId?: string; reason: string; reinitializing: boolean };
  /** A fatal error (followed by close), or a failure worth reporting. */
  error: GatewayClientError;
}

/** What an `onmessage` handler may return: a promise keeps the message "in hand" until it settles. */
type MessageHandler = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void | Promise<unknown>;

const INTERNAL_PREFIX = "gateway-client-";

/** The client SDK's transport. See the module comment. */
export class GatewayClient extends TypedEmitter<GatewayClientEvents> implements Transport {
  onmessage?: MessageHandler;
  onerror?: (error: Error) => void;
  onclose?: () => void;

  readonly options: ResolvedOptions;
  #factory: WireFactory;
  #state: GatewayClientState = "idle";
  #wire?: ClientWire;
  #wireKind?: TransportKind;
  #planner: ReconnectPlanner;
  #liveness: Liveness;
  #sessionId?: string;
  /** Transport the session was opened on (Streamable HTTP sessions cannot move). */
  #sessionKind?: TransportKind;
  #config: WireConfig;
  #seq: MessageSequencer<JSONRPCMessage>;
  #flow: FlowController<JSONRPCMessage>;
  #http = new HttpStreamState();
  #memory = new SessionMemory();
  #outbox: JSONRPCMessage[] = [];
  #flushing = false;
  #needsReinit = false;
  #internal = new Map<string, (answer: JSONRPCMessage) => void>();
  #internalId = 0;
  /** Calls failed locally whose late real answers are to be dropped. */
  #abandoned = new Set<string | number>();
  /** Answers the client made up itself (never dropped as late). */
  #localAnswers = new WeakSet<object>();
  #retryTimer?: ReturnType<typeof setTimeout>;
  #holeTimer?: ReturnType<typeof setTimeout>;
  /** Connection attempts since the last successful open. */
  #attempt = 0;
  /** The reorder buffer was full and let messages go (a resume brings them back). */
  #droppedForRoom = false;
  #tokenReason: "connect" | "expired" = "connect";
  #authRetries = 0;
  #everOpened = false;
  #start?: { resolve: () => void; reject: (e: Error) => void };

  constructor(options: GatewayClientOptions, factory: WireFactory = createWire) {
    super();
    this.options = resolveOptions(options);
    this.#factory = factory;
    const o = this.options;
    this.#planner = new ReconnectPlanner(o);
    this.#liveness = new Liveness(o.heartbeatTimeoutMs, o.pingIntervalMs, {
      isOpen: () => this.#state === "open" && this.#wire !== undefined,
      ping: () => this.#internalRequest("ping"),
      dead: () => this.#wire?.abort(),
    });
    this.#config = { baseUrl: o.url, clientId: o.clientId, token: o.token, headers: o.headers, fetch: o.fetch, WebSocket: o.WebSocket };
    this.#seq = new MessageSequencer<JSONRPCMessage>(
      { deliver: (seq, m) => this.#sequenced(seq, m), requestResume: (from, to) => this.#resumeForGap(from, to) },
      { maxBuffer: o.reorderBuffer, gapTimeoutMs: o.gapTimeoutMs },
    );
    this.#flow = new FlowController<JSONRPCMessage>(
      { handle: (seq, m) => this.#toApplication(seq, m), ack: (seq) => this.#wire?.ack(seq) },
      { maxPending: o.maxPending },
    );
  }

  /** Connection state. */
  get state(): GatewayClientState {
    return this.#state;
  }

  /**
   * The MCP session id, once the application initialized (the SDK's Client
   * skips `initialize` on a transport that already has one, taking it for a
   * reconnect; a WebSocket or SSE connection has a gateway session before
   * MCP's handshake, so it is shown only after). See {@link gatewaySessionId}.
   */
  get sessionId(): string | undefined {
    return this.#memory.initializeParams !== undefined ? this.#sessionId : undefined;
  }

  /** The gateway session id as soon as the gateway assigned it (undefined on a bare WebSocket). */
  get gatewaySessionId(): string | undefined {
    return this.#sessionId;
  }

  /** The transport in use (or being tried). */
  get transport(): TransportKind {
    return this.#planner.transport;
  }

  /** Highest seq delivered (in order; on Streamable HTTP, the highest seen on any stream). */
  get lastSeq(): number {
    let max = this.#seq.delivered;
    for (const id of this.#http.lastIds.values()) if (id > max) max = id;
    return max;
  }

  /** Messages in the application's hands, unacknowledged. */
  get pending(): number {
    return this.#flow.pending;
  }

  /** Highest seq acknowledged to the gateway. */
  get ackedSeq(): number {
    return this.#flow.acked;
  }

  /** SDK: called with the negotiated version; sent as MCP-Protocol-Version on HTTP. */
  setProtocolVersion(version: string): void {
    this.#config.protocolVersion = version;
  }

  /** Connects (the SDK's Client calls this). Resolves once connected; rejects if the client gives up. */
  start(): Promise<void> {
    if (this.#state !== "idle") return Promise.reject(new GatewayClientError("invalid_state", `start() called in state ${this.#state}`));
    this.#state = "connecting";
    const started = new Promise<void>((resolve, reject) => (this.#start = { resolve, reject }));
    void this.#connect();
    this.#liveness.start();
    return started;
  }

  /**
   * Sends one message. Never loses it silently: while disconnected it waits
   * in an outbox; if a connection dies with it maybe delivered, a request is
   * answered locally with a `connection_lost` error instead of hanging.
   */
  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    if (this.#state === "closed") throw new GatewayClientError("invalid_state", "the client is closed");
    if (this.#state === "idle") throw new GatewayClientError("invalid_state", "call start() first");
    this.#memory.outgoing(message);
    if (this.#state !== "open" || this.#flushing || !this.#wire) {
      this.#outbox.push(message);
      return;
    }
    await this.#transmit(message);
  }

  /** Closes the connection (and, by default, ends the gateway session). */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#flow.flush();
    this.#shutdown("closed by the client");
  }

  // ---- connecting -------------------------------------------------------

  async #connect(): Promise<void> {
    if (this.#state === "closed") return;
    const kind = this.transport;
    if (this.options.getToken) {
      try {
        this.#config.token = await this.options.getToken({ reason: this.#tokenReason });
      } catch (err) {
        return this.#fail(new GatewayClientError("authentication_failed", `getToken() failed: ${(err as Error).message}`, { cause: err }));
      }
      if (this.#closed) return;
    }
    if (this.#sessionId !== undefined && this.#sessionKind !== undefined && (this.#sessionKind === "streamable_http") !== (kind === "streamable_http")) {
      // The gateway cannot carry a Streamable HTTP session over to a socket transport (or back).
      this.#sessionLost(`a ${this.#sessionKind} session cannot continue over ${kind}`);
      if (this.#closed) return;
    }
    let wire: ClientWire | undefined;
    wire = this.#factory(kind, this.#config, this.#events(() => wire), this.#http);
    this.#wire = wire;
    this.#wireKind = kind;
    this.#liveness.touch();
    wire.connect(this.#sessionId ? { sessionId: this.#sessionId, lastSeq: this.#seq.delivered } : undefined);
  }

  #events(current: () => ClientWire | undefined): WireEvents {
    // Events of a wire that was replaced (a late close, a stray frame) are ignored.
    const isMine = () => this.#wire !== undefined && this.#wire === current();
    return {
      onOpen: (info) => isMine() && this.#onOpen(info),
      onMessage: (message, seq) => (isMine() ? this.#onMessage(message, seq) : true),
      onGap: (from, to) => isMine() && this.#onServerGap(from, to),
      onActivity: () => {
        if (isMine()) this.#liveness.touch();
      },
      onClose: (error) => isMine() && this.#onClose(error),
      onSessionId: (id) => {
        if (!isMine()) return;
        this.#sessionId = id;
        this.#sessionKind = this.#wireKind;
      },
      onCallLost: (id, reason) => isMine() && this.#failCall(id, "connection_lost", `Connection to the gateway lost while the call was in flight (${reason}); its outcome is unknown`),
    };
  }

  #onOpen(info: { sessionId?: string; lastSeq?: number; resumed: boolean }): void {
    const kind = this.#wireKind!;
    const askedToResume = this.#sessionId !== undefined;
    const resumed = info.resumed || (askedToResume && info.sessionId === this.#sessionId);
    if (this.#memory.initialized && !resumed && !this.#needsReinit) {
      // Connected, but to a new session: the gateway forgot ours (or the wire cannot resume).
      this.#sessionLost("the gateway started a new session");
      if (this.#closed) return;
    }
    if (info.sessionId) this.#sessionId = info.sessionId;
    if (!resumed) this.#sessionKind = kind;
    this.#planner.succeeded(kind);
    this.#authRetries = 0;
    this.#attempt = 0;
    this.#tokenReason = "connect";
    this.#liveness.touch();
    this.#everOpened = true;
    this.emit("open", { transport: kind, sessionId: this.#sessionId, resumed });
    if (this.#needsReinit) void this.#reinitialize();
    else void this.#ready();
    this.#armHoleCheck();
  }

  async #ready(): Promise<void> {
    this.#state = "open";
    this.#flow.flush();
    const start = this.#start;
    this.#start = undefined;
    start?.resolve();
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#outbox.length > 0 && this.#state === "open" && this.#wire) {
        const message = this.#outbox.shift()!;
        const sent = this.#transmit(message);
        // Sent in order; but a Streamable HTTP POST of a request only returns with its answer,
        // so requests there go out side by side instead of one call at a time.
        const m = message as { id?: unknown; method?: unknown };
        if (!(this.#wireKind === "streamable_http" && m.id !== undefined && m.method !== undefined)) await sent;
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #transmit(message: JSONRPCMessage): Promise<void> {
    const wire = this.#wire!;
    try {
      await wire.send(message);
    } catch (err) {
      const e = err as WireError;
      const m = message as { id?: string | number; method?: string };
      const isRequest = m.method !== undefined && m.id !== undefined;
      const connectionGone = this.#wire !== wire || e.kind === "network";
      if (connectionGone && (e.info?.delivered === "no" || m.method === "initialize")) {
        // Certainly not delivered (or harmless to repeat): it goes out again after the reconnect.
        this.#outbox.unshift(message);
      } else if (isRequest) {
        const text = connectionGone
          ? `Connection to the gateway lost while sending ${m.method}; it may or may not have run`
          : `The gateway refused ${m.method}: ${e.message}`;
        this.#failCall(m.id!, connectionGone ? "connection_lost" : "refused", text);
      }
      // A notification or response of unknown fate is let go: acks are cumulative, the rest is advisory.
    }
  }

  #onClose(error?: WireError): void {
    this.#wire = undefined;
    // The client's own requests on that wire (ping, re-initialize) will not be answered there.
    for (const [id, resolve] of [...this.#internal]) {
      this.#internal.delete(id);
      resolve({ jsonrpc: "2.0", id, error: { code: -32000, message: "connection lost" } } as JSONRPCMessage);
    }
    if (this.#state === "closed") return;
    if (this.#state === "open") this.#state = "reconnecting";
    const kind = this.#wireKind!;
    const reason = error?.message ?? "connection closed";
    if (error?.kind === "auth") return this.#onAuthFailure(error);
    if (error?.kind === "session_not_found") {
      this.#sessionLost("the gateway does not know the session (restarted or expired)");
      if (this.#closed) return;
      return this.#schedule(0, kind, reason);
    }
    if (error?.kind === "rate_limited" && error.info.retryAfter) {
      return this.#schedule(error.info.retryAfter * 1000, kind, reason);
    }
    const plan = this.#planner.failed(kind);
    if (plan.action === "give_up") {
      return this.#fail(
        new GatewayClientError("max_recovery_attempts", `Max recovery attempts exceeded: gave up after ${plan.recoveryAttempts} recovery attempts over ${this.options.transports.join(", ")} (last error: ${reason})`, { transport: kind }),
      );
    }
    if (plan.switchedFrom) {
      this.emit("transport_switch", { from: plan.switchedFrom, to: plan.transport, reason, sessionId: this.#sessionId, lastSeq: this.lastSeq });
    }
    this.#schedule(plan.delayMs, plan.transport, plan.recoveryAttempt ? `recovery attempt ${plan.recoveryAttempt}: ${reason}` : reason);
  }

  #schedule(delayMs: number, transport: TransportKind, reason: string): void {
    clearTimeout(this.#retryTimer);
    const attempt = ++this.#attempt;
    this.emit("reconnecting", { transport, attempt, delayMs, reason });
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs);
  }

  #onAuthFailure(error: WireError): void {
    const reason = error.info.reason;
    const refreshable = reason !== "invalid_token" && this.options.getToken !== undefined && this.#authRetries < 2;
    if (!refreshable) {
      return this.#fail(
        new GatewayClientError("authentication_failed", `Authentication failed${reason ? `: ${reason}` : ""}`, { error: "authentication_failed", reason, status: error.info.status, transport: this.#wireKind }),
      );
    }
    this.#authRetries++;
    this.#tokenReason = "expired";
    this.#schedule(0, this.transport, `refreshing the token (${reason ?? "authentication_failed"})`);
  }

  // ---- sessions ---------------------------------------------------------

  #sessionLost(reason: string): void {
    const old = this.#sessionId;
    this.#sessionId = undefined;
    this.#http.clear();
    this.#seq.reset(0);
    this.#flow.resetSession();
    const { resend, fail } = this.#memory.takeInflight();
    for (const id of fail) this.#deliverLocal(lostCallAnswer(id, "session_lost", `Gateway session lost (${reason}); the call's outcome is unknown`));
    this.#outbox.unshift(...resend);
    const reinitializing = this.#memory.canRecreate && this.options.reinitialize;
    this.emit("session_lost", { sessionId: old, reason, reinitializing });
    if (this.#memory.canRecreate && !this.options.reinitialize) {
      this.#fail(new GatewayClientError("session_lost", `Gateway session lost (${reason}) and reinitialize is off`));
      return;
    }
    this.#needsReinit = reinitializing;
  }

  /** Re-runs the application's initialize on a new session, restores its state, then sends what waited. */
  async #reinitialize(): Promise<void> {
    const wire = this.#wire!;
    const outcome = await recreateSession(
      this.#memory,
      {
        request: (method, params) => this.#internalRequest(method, params),
        notify: (message) => wire.send(message),
        current: () => this.#wire === wire && !this.#closed,
        report: (error) => this.emit("error", error),
      },
      (version) => {
        if (version) this.#config.protocolVersion = version;
        this.#needsReinit = false;
      },
    );
    if (outcome.status === "failed") return this.#fail(outcome.error);
    if (outcome.status === "done") await this.#ready();
  }

  #nextInternalId(): string {
    return `${INTERNAL_PREFIX}${++this.#internalId}`;
  }

  #internalRequest(method: string, params?: Record<string, unknown>): Promise<JSONRPCMessage> {
    const id = this.#nextInternalId();
    return new Promise((resolve) => {
      this.#internal.set(id, resolve);
      this.#wire?.send({ jsonrpc: "2.0", id, method, params } as JSONRPCMessage).catch(() => {
        this.#internal.delete(id);
        resolve({ jsonrpc: "2.0", id, error: { code: -32000, message: `${method} could not be sent` } } as JSONRPCMessage);
      });
    });
  }

  // ---- receiving --------------------------------------------------------

  #onMessage(message: JSONRPCMessage | undefined, seq: number | undefined): boolean {
    this.#liveness.touch();
    if (seq === undefined) {
      if (message) this.#flow.offer(0, message);
      return true;
    }
    if (this.#wireKind === "streamable_http") {
      // Streamable HTTP spreads a session's seqs over parallel streams (one per POST plus the GET
      // stream), so holes between them are normal: the wire de-duplicates per stream, and each
      // stream is in order by itself. The global reorder buffer is for the single-stream transports.
      if (message) this.#flow.offer(seq, message);
      else this.#flow.pass(seq);
      return true;
    }
    const r = this.#seq.push(seq, message);
    if (r === "dropped") this.#droppedForRoom = true;
    return r !== "dropped";
  }

  #sequenced(seq: number, message: JSONRPCMessage | undefined): void {
    if (message === undefined) this.#flow.pass(seq);
    else this.#flow.offer(seq, message);
  }

  #toApplication(seq: number, message: JSONRPCMessage): void {
    const m = message as { id?: string | number; method?: string };
    if (m.method === undefined && m.id !== undefined) {
      const internal = this.#internal.get(String(m.id));
      if (internal && String(m.id).startsWith(INTERNAL_PREFIX)) {
        this.#internal.delete(String(m.id));
        internal(message);
        return this.#flow.done(seq);
      }
      if (!this.#localAnswers.has(message) && this.#abandoned.delete(m.id)) return this.#flow.done(seq);
      this.#memory.answered(message);
      if (this.#memory.protocolVersion && !this.#config.protocolVersion) this.#config.protocolVersion = this.#memory.protocolVersion;
    } else if (m.method === "notifications/gateway/gap") {
      // Bare WebSocket mode reports lost messages as a notification (no seqs to skip).
      const p = (message as { params?: { from?: number; to?: number } }).params ?? {};
      this.emit("gap", { from: Number(p.from), to: Number(p.to), action: "skipped" });
      return this.#flow.done(seq);
    } else if (m.method === "ping" && m.id !== undefined) {
      // The gateway checking on us: the transport answers, the application need not know.
      this.#wire?.send({ jsonrpc: "2.0", id: m.id, result: {} } as JSONRPCMessage).catch(() => {});
      return this.#flow.done(seq);
    }
    let result: unknown;
    try {
      result = this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(err as Error);
    }
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(
        () => this.#flow.done(seq),
        () => this.#flow.done(seq),
      );
    } else {
      this.#flow.done(seq);
    }
  }

  /** Delivers a locally made answer (a failed call) to the application. */
  #deliverLocal(message: JSONRPCMessage): void {
    this.#localAnswers.add(message);
    this.#flow.offer(0, message);
  }

  #failCall(id: string | number, code: string, text: string): void {
    if (!this.#memory.inflight.delete(id)) return;
    // Its real answer may still come (replayed): the application already has one, so it is dropped.
    if (this.#abandoned.size >= 1000) this.#abandoned.clear();
    this.#abandoned.add(id);
    this.#deliverLocal(lostCallAnswer(id, code, text));
  }

  #onServerGap(from: number, to: number): void {
    const skipped = this.#seq.skipThrough(to);
    this.#flow.pass(to);
    if (skipped) this.emit("gap", { from: Math.max(from, skipped.from), to, action: "skipped" });
  }

  #resumeForGap(from: number, to: number): void {
    this.#droppedForRoom = false;
    this.emit("gap", { from, to, action: "resume" });
    const wire = this.#wire;
    if (!wire || this.#state !== "open") return;
    // Reconnect on the same transport from the last seq delivered; the replay fills the hole.
    this.#wire = undefined;
    wire.close(false);
    this.#state = "reconnecting";
    this.#schedule(0, this.transport, `filling the gap ${from}..${to}`);
  }

  /** After a (re)connect, a hole that the replay did not fill within gapTimeoutMs is skipped and reported. */
  #armHoleCheck(): void {
    clearTimeout(this.#holeTimer);
    if (this.#seq.buffered === 0) return;
    const from = this.#seq.delivered + 1;
    this.#holeTimer = setTimeout(() => {
      if (this.#seq.buffered > 0 && this.#seq.delivered + 1 === from) {
        const skipped = this.#seq.skipHole();
        if (skipped) this.emit("gap", { ...skipped, action: "skipped" });
        // Messages let go while the buffer was full come back with a resume from here.
        if (this.#droppedForRoom) this.#resumeForGap(this.#seq.delivered + 1, this.#seq.delivered + 1);
      }
    }, this.options.gapTimeoutMs * 2);
    (this.#holeTimer as { unref?: () => void }).unref?.();
  }

  // ---- ending -----------------------------------------------------------

  #fail(error: GatewayClientError): void {
    if (this.#state === "closed") return;
    const start = this.#start;
    this.#start = undefined;
    const { resend, fail } = this.#memory.takeInflight();
    for (const id of [...fail, ...resend.map((m) => (m as { id: string | number }).id)]) {
      this.#deliverLocal(lostCallAnswer(id, error.code, error.message));
    }
    this.emit("error", error);
    this.onerror?.(error);
    this.#shutdown(error.message, error);
    start?.reject(error);
  }

  #shutdown(reason: string, error?: GatewayClientError): void {
    this.#state = "closed";
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#holeTimer);
    this.#liveness.stop();
    this.#seq.dispose();
    this.#flow.dispose();
    const wire = this.#wire;
    this.#wire = undefined;
    wire?.close(this.options.endSessionOnClose);
    const start = this.#start;
    this.#start = undefined;
    start?.reject(new GatewayClientError("invalid_state", "closed before connecting"));
    this.emit("close", { reason, error });
    this.onclose?.();
  }

  /** Read through a getter so TypeScript does not narrow the state across awaits and calls. */
  get #closed(): boolean {
    return this.#state === "closed";
  }

  /** True once the client has been connected at least once. */
  get everConnected(): boolean {
    return this.#everOpened;
  }
}
