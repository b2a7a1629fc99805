import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocketServer, WebSocket, RawData } from "ws";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import { partsText, rawParts } from "../protocol/raw-reply.js";
import { sendTextFragments } from "./ws-fragments.js";
import { GatewayError, toClose, toGatewayError, toJsonRpcError } from "../errors/index.js";
import type { DownstreamSink, Session } from "../session/session.js";
import type { ListenerContext } from "./context.js";
import { ownsSession } from "./identity.js";
import { queryOf } from "./http-util.js";
import { channels } from "../telemetry/channels.js";
import { attachResumed, canSwitch, defaultResumePoint, gapNotification, parseSeq, resumePlan, type ResumePlan } from "../session/continuity.js";
import { classifyClientFrame, errorFrame, gapFrame, messageFrame, welcomeFrame, WS_SUBPROTOCOL_BARE, WS_SUBPROTOCOL_ENVELOPE } from "./ws-envelope.js";
import { HeartbeatSweeper, type DeadReason, type Liveness } from "./ws-heartbeat.js";
import { closeOversizeWith1008, isTooLarge } from "./ws-policy.js";
import { closeAllSockets, createListenerWss, refuseUpgrade } from "./ws-server.js";
import { guarded, guardFailed } from "./guard.js";
import { checkMessage } from "../protocol/validate.js";
import type { ClientIdentity } from "./identity.js";

/** Closes a socket with a catalogue error's close code (1011 for internal_error). */
function closeWith(ws: WebSocket, e: GatewayError): void {
  const { code, reason } = toClose(e);
  ws.close(code, reason);
}

/** What a served socket's shared listeners need, kept on the socket itself. */
interface ServedSocket {
  readonly listener: WebSocketListener;
  readonly session: Session;
  readonly sink: WebSocketSink;
  readonly envelope: boolean;
  readonly resumable: boolean;
  readonly live: Liveness;
}
const SERVED = Symbol("mcp-gateway.ws-served");
type Served = WebSocket & { [SERVED]?: ServedSocket };

/** ws calls listeners with the socket as `this`. The one per-message guard (src/listeners/guard.ts): a throw answers this client and is logged. */
function onWsMessage(this: Served, data: RawData, isBinary: boolean): void {
  const c = this[SERVED]!;
  try {
    c.listener.frame(c, this, data, isBinary);
  } catch (err) {
    guardFailed("websocket message", err, (e) => {
      if (this.readyState === 1) this.send(JSON.stringify(toJsonRpcError(e, null)));
    });
  }
}

/** Guarded too: a throw while winding a session down must not end the process (nobody is left to answer). */
function onWsClose(this: Served, code: number, reason: Buffer): void {
  const c = this[SERVED]!;
  try {
    c.listener.closed(c, code, reason);
  } catch (err) {
    guardFailed("websocket close", err, () => {});
  }
}

/** ws emits a receiver's error on the socket before closing it: a frame too large is the close's reason. */
function onWsError(this: Served, err: Error): void {
  if (isTooLarge(err)) {
    const c = this[SERVED];
    if (c) c.session.closeReason = "message_too_large";
  }
}

/** The heartbeat gave up on the peer (no close frame: the peer is gone; ws reports the close as 1006). */
function onWsDead(reason: DeadReason, ws: WebSocket): void {
  const c = (ws as Served)[SERVED];
  if (c) c.session.closeReason = reason;
  ws.terminate();
}

/**
 * The WebSocket side of a session: one message per text frame, bare
 * JSON-RPC (subprotocol `mcp`) or wrapped in the `mcp-gateway.v1` envelope
 * with its sequence number.
 */
export class WebSocketSink implements DownstreamSink {
  readonly kind = "websocket" as const;

  constructor(
    readonly ws: WebSocket,
    readonly maxBuffered: number,
    readonly envelope = false,
  ) {}

  deliver(message: JsonRpcMessage, _relatedId: unknown, session: Session): boolean {
    // A large reply relayed as text (ADR 0211) comes in pieces; everything else is stringified as always.
    const parts = rawParts(message);
    const json = parts === undefined ? JSON.stringify(message) : partsText(parts);
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "outbound", clientId: session.clientId, sessionId: session.id, transport: "websocket", size: json.length });
    const seq = session.record(json, "ws");
    if (this.ws.readyState !== 1) return false;
    if (parts === undefined) this.ws.send(this.envelope ? messageFrame(seq, json) : json);
    // A large reply relayed as text (ADR 0211): one message in fragments, each encoded on its own.
    else if (this.envelope) sendTextFragments(this.ws, parts, `{"type":"message","seq":${seq},"message":`, "}");
    else sendTextFragments(this.ws, parts);
    return this.ws.bufferedAmount < this.maxBuffered;
  }

  /** Sends what a resuming client missed: the gap report first, then the messages in order. */
  replay(plan: ResumePlan): void {
    if (plan.gap) this.ws.send(this.envelope ? gapFrame(plan.gap) : gapNotification(plan.gap));
    for (const e of plan.entries) this.ws.send(this.envelope ? messageFrame(e.seq, e.json) : e.json);
  }

  close(code = 1000, reason = ""): void {
    this.ws.close(code, reason);
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }
}

/**
 * Accepts WebSocket upgrades on `/mcp/ws`: subprotocol `mcp` (or none) for
 * bare JSON-RPC, `mcp-gateway.v1` for the resumable envelope. Frames above
 * `websocket.max_frame_size` are refused by ws itself before buffering.
 * `?session_id=S&last_seq=N` resumes a session of the same client (also one
 * that lived on HTTP+SSE or Phoenix).
 */
export class WebSocketListener {
  #wss?: WebSocketServer;
  /** Created at the first upgrade (ws is loaded then, not at start-up). */
  get wss(): WebSocketServer {
    return (this.#wss ??= this.#createWss());
  }
  /** Pings every socket from one timer (websocket.ping_interval / pong_timeout / idle_timeout). */
  readonly heartbeat: HeartbeatSweeper;

  constructor(readonly ctx: ListenerContext) {
    this.heartbeat = new HeartbeatSweeper(() => ctx.config.current.websocket);
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let identity;
    try {
      identity = await this.ctx.authenticate(req);
    } catch (err) {
      const e = toGatewayError(err);
      // 401/403 carry the same challenge as on HTTP, so OAuth clients can find the resource metadata.
      const challenge = this.ctx.challenge?.(req, e);
      refuseUpgrade(socket, e.status, { error: e.code, reason: e.details.reason ?? null, retry_after: null }, challenge ? { "www-authenticate": challenge } : undefined);
      return;
    }
    const query = queryOf(req);
    const resumeId = query.get("session_id");
    if (!resumeId) {
      // A new session: session caps and the rate window, before the upgrade completes (refused: nothing is created).
      try {
        await this.ctx.admit?.(identity);
      } catch (err) {
        const e = toGatewayError(err);
        refuseUpgrade(socket, e.status, { error: e.code, message: e.message, retry_after: e.details.retry_after ?? null }, e.details.retry_after !== undefined ? { "retry-after": String(e.details.retry_after) } : undefined);
        return;
      }
    }
    // Cluster mode: a session held by another node moves here (a socket cannot be forwarded).
    if (resumeId && this.ctx.cluster !== undefined && !this.ctx.registry.get(resumeId)) await this.ctx.cluster.adopt(resumeId);
    this.wss.handleUpgrade(req, socket, head, (ws) => guarded("websocket open", () => this.#open(ws, req, query, resumeId, identity), (e) => closeWith(ws, e)));
  }

  #createWss(): WebSocketServer {
    // A client offering both gets the envelope: it can resume.
    return createListenerWss(this.ctx, (protocols) =>
      protocols.has(WS_SUBPROTOCOL_ENVELOPE) ? WS_SUBPROTOCOL_ENVELOPE : protocols.has(WS_SUBPROTOCOL_BARE) ? WS_SUBPROTOCOL_BARE : false,
    );
  }

  #open(ws: WebSocket, req: IncomingMessage, query: URLSearchParams, resumeId: string | null, identity: ClientIdentity): void {
    const envelope = ws.protocol === WS_SUBPROTOCOL_ENVELOPE;
    if (resumeId) {
      const session = this.ctx.registry.get(resumeId);
      // Another client's session is reported exactly like a missing one (no probing for ids).
      if (!session || session.closed || !ownsSession(identity, session) || !canSwitch(session.transport, "websocket")) {
        const err = new GatewayError("session_not_found", { session_id: resumeId });
        if (envelope) ws.send(errorFrame(err));
        const { code, reason } = toClose(err);
        ws.close(code, reason);
        return;
      }
      this.#serve(ws, session, req, envelope, parseSeq(query.get("last_seq")) ?? defaultResumePoint(session));
      return;
    }
    const session = this.ctx.registry.create(identity.clientId, "websocket");
    session.identity = identity;
    this.#serve(ws, session, req, envelope, undefined);
  }

  #serve(ws: WebSocket, session: Session, req: IncomingMessage, envelope: boolean, resumeFrom: number | undefined): void {
    const ctx = this.ctx;
    const config = ctx.config.current;
    const sink = new WebSocketSink(ws, config.backpressure.max_buffered_bytes, envelope);
    // Envelope sessions (and resumed or `?resumable=1` ones) outlive their socket until session.ttl.
    const resumable = envelope || resumeFrom !== undefined || !!queryOf(req).get("resumable");
    // Nobody can resume it (it ends with its socket): keep no replay buffer.
    if (!resumable) session.keepsReplay = false;
    if (resumeFrom !== undefined) attachResumed(session, sink);
    else session.attach(sink);
    if (envelope) ws.send(welcomeFrame(session, resumeFrom !== undefined));
    if (resumeFrom !== undefined) sink.replay(resumePlan(session, resumeFrom));
    ctx.onConnected(session, req.socket);
    // The socket's listeners are shared functions that find this record on the socket: closures per socket
    // (with the guard's wrappers) cost ~1 KB for as long as it was open (ADR 0200).
    (ws as Served)[SERVED] = { listener: this, session, sink, envelope, resumable, live: this.heartbeat.track(ws, onWsDead) };
    ws.on("message", onWsMessage);
    // Too large: 1008 policy violation (the guide), not ws's 1009; onWsError records the reason.
    closeOversizeWith1008(ws);
    ws.on("error", onWsError);
    ws.on("close", onWsClose);
  }

  /** A frame arrived (onWsMessage, inside its guard). */
  frame(c: ServedSocket, ws: WebSocket, data: RawData, isBinary: boolean): void {
    c.live.seen = true;
    this.#onMessage(ws, c.session, c.envelope, data, isBinary);
  }

  /** The socket closed (onWsClose, inside its guard). */
  closed(c: ServedSocket, code: number, reason: Buffer): void {
    const { session, sink } = c;
    this.heartbeat.untrack(c.live);
    const attached = session.sink === sink;
    session.detach(sink);
    this.ctx.onDisconnected(session, code, session.closeReason ?? reason.toString(), "websocket");
    session.closeReason = undefined;
    // A bare session without resume support ends with its socket (unless it already moved on).
    if (attached && !c.resumable) this.ctx.registry.end(session);
  }

  /** One client frame: parse, envelope frames (ack/end), the edge check, then dispatch. */
  #onMessage(ws: WebSocket, session: Session, envelope: boolean, data: RawData, isBinary: boolean): void {
    const ctx = this.ctx;
    let parsed: unknown;
    try {
      if (isBinary) throw new Error("binary frames are not JSON-RPC");
      parsed = JSON.parse(data.toString());
    } catch (err) {
      session.send(toJsonRpcError(new GatewayError("parse_error", { detail: (err as Error).message }), null));
      return;
    }
    const size = (data as Buffer).length;
    // Envelope frames are objects without `jsonrpc`; anything else (null, 123, [], a JSON-RPC object) is checked as JSON-RPC.
    if (envelope && typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && (parsed as { jsonrpc?: unknown }).jsonrpc === undefined) {
      const frame = classifyClientFrame(parsed);
      if (frame.kind === "ack") return session.ack(frame.seq);
      if (frame.kind === "end") {
        ctx.registry.end(session);
        ws.close(1000, "session ended");
        return;
      }
      if (frame.kind === "invalid") {
        ws.send(errorFrame(new GatewayError("invalid_request", { detail: frame.detail })));
        return;
      }
      parsed = frame.message;
    }
    const check = checkMessage(parsed, ctx.config.current.server.max_json_depth);
    if (!check.ok) {
      session.send(toJsonRpcError(check.error, check.id), check.id ?? undefined);
      return;
    }
    const message = check.message;
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "websocket", method: (message as { method?: string }).method, size });
    ctx.dispatch(session, message);
  }

  /** Closes every socket with a code (1001 on shutdown); peers that do not answer the close are cut after `graceMs`. */
  closeAll(code: number, reason: string, graceMs = 2000): void {
    closeAllSockets(this.#wss, this.heartbeat, code, reason, graceMs);
  }
}
