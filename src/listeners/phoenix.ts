import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocketServer, WebSocket, RawData } from "ws";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import { partsText, rawParts } from "../protocol/raw-reply.js";
import { sendTextFragments } from "./ws-fragments.js";
import { GatewayError, toClose, toGatewayError, toJsonRpcError } from "../errors/index.js";
import { UnjoinedSockets } from "./phoenix-admission.js";
import { guarded, guardFailed } from "./guard.js";
import { checkMessage } from "../protocol/validate.js";
import type { DownstreamSink, Session } from "../session/session.js";
import type { ClientIdentity } from "./identity.js";
import type { ListenerContext, PeerAddress } from "./context.js";
import { ownsSession } from "./identity.js";
import { queryOf } from "./http-util.js";
import { channels, log } from "../telemetry/channels.js";
import { attachResumed, canSwitch, defaultResumePoint, parseSeq, resumePlan, type ResumePlan } from "../session/continuity.js";
import { HeartbeatSweeper, type DeadReason, type Liveness } from "./ws-heartbeat.js";
import { closeOversizeWith1008, isTooLarge } from "./ws-policy.js";
import { closeAllSockets, createListenerWss, refuseUpgrade } from "./ws-server.js";
import { decodeFrame, encodeFrame, messageFrame, messagePrefix, PHOENIX_TOPIC, PHOENIX_VSN, replyFrame, type PhoenixFrame } from "./phoenix-frames.js";

/** The error reply to a frame that is not a Phoenix frame or carries no JSON-RPC object. */
function invalidPayload(reason: string): { error: string; code: number; reason: string } {
  return { error: "invalid_request", code: -32600, reason };
}

/** Path the `phoenix` client connects to for `new Socket("/mcp/ws")`. */
export const PHOENIX_PATH = "/mcp/ws/websocket";

/** One Phoenix socket: who it is (or why auth failed) and its joined channel. */
interface PhoenixConnection {
  ws: WebSocket;
  /** The peer (its socket, for the connection events); not the upgrade request, which would stay with the socket. */
  peer: PeerAddress;
  identity?: ClientIdentity;
  authError?: GatewayError;
  /** The joined `mcp:gateway` channel (one per socket, as in Phoenix). */
  channel?: PhoenixSink;
  live?: Liveness;
  /** The listener serving the socket (its shared socket listeners reach it through the connection). */
  listener?: PhoenixListener;
  /** Frames that arrived while a join waited for the cluster to hand over its session (kept in order). */
  held?: Array<{ frame: PhoenixFrame; size: number; adopted?: boolean; admitted?: boolean }>;
}

const SERVED = Symbol("mcp-gateway.phoenix-served");
type Served = WebSocket & { [SERVED]?: PhoenixConnection };

/** ws calls listeners with the socket as `this`. The one per-message guard (src/listeners/guard.ts): a throw answers this client and is logged. */
function onPhoenixMessage(this: Served, data: RawData, isBinary: boolean): void {
  const conn = this[SERVED]!;
  try {
    conn.listener!.frame(conn, data, isBinary);
  } catch (err) {
    guardFailed("phoenix message", err, (e) => {
      if (this.readyState === 1) this.send(replyFrame(null, null, "phoenix", "error", { error: e.code, reason: e.message }));
    });
  }
}

/** Guarded too: a throw while winding a session down must not end the process (nobody is left to answer). */
function onPhoenixClose(this: Served, code: number, reason: Buffer): void {
  const conn = this[SERVED]!;
  try {
    conn.listener!.closed(conn, code, reason);
  } catch (err) {
    guardFailed("phoenix close", err, () => {});
  }
}

/** ws emits a receiver's error on the socket before closing it: a frame too large is the close's reason. */
function onPhoenixError(this: Served, err: Error): void {
  if (isTooLarge(err)) {
    const channel = this[SERVED]?.channel;
    if (channel) channel.session.closeReason = "message_too_large";
  }
}

/** The heartbeat gave up on the peer: its session says why, and the socket is cut. */
function onPhoenixDead(reason: DeadReason, ws: WebSocket): void {
  const channel = (ws as Served)[SERVED]?.channel;
  if (channel) channel.session.closeReason = reason;
  ws.terminate();
}

/**
 * A session's Phoenix channel: gateway messages go out as `message` events
 * with payload `{id, seq, message}` (docs/protocol.md).
 */
export class PhoenixSink implements DownstreamSink {
  readonly kind = "phoenix" as const;
  readonly #prefix: string;

  constructor(
    readonly conn: PhoenixConnection,
    readonly joinRef: string,
    readonly session: Session,
    readonly maxBuffered: number,
  ) {
    this.#prefix = messagePrefix(joinRef);
  }

  deliver(message: JsonRpcMessage, _relatedId: unknown, session: Session): boolean {
    // A large reply relayed as text (ADR 0211) comes in pieces; everything else is stringified as always.
    const parts = rawParts(message);
    const json = parts === undefined ? JSON.stringify(message) : partsText(parts);
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "outbound", clientId: session.clientId, sessionId: session.id, transport: "phoenix", size: json.length });
    const seq = session.record(json, "phx");
    const ws = this.conn.ws;
    if (ws.readyState !== 1) return false;
    if (parts === undefined) ws.send(messageFrame(this.#prefix, seq, json));
    // A large reply relayed as text (ADR 0211): one message in fragments, each encoded on its own.
    else sendTextFragments(ws, parts, `${this.#prefix}{"id":${seq},"seq":${seq},"message":`, "}]");
    return ws.bufferedAmount < this.maxBuffered;
  }

  /** Sends what a rejoining client missed: a `gap` event first, then the messages. */
  replay(plan: ResumePlan): void {
    const ws = this.conn.ws;
    if (plan.gap) ws.send(encodeFrame(this.joinRef, null, PHOENIX_TOPIC, "gap", plan.gap));
    for (const e of plan.entries) ws.send(messageFrame(this.#prefix, e.seq, e.json));
  }

  /**
   * 1000 (the session resumed on another connection or moved to another
   * node) closes only this channel (`phx_close`); any other code is the
   * gateway ending the connection (1001 shutdown, 1013
   * backpressure_dropped, 1008 token expired, admin disconnects) and closes
   * the socket, as on the other WebSocket transports.
   */
  close(code = 1000, reason = ""): void {
    const conn = this.conn;
    if (code !== 1000) return void conn.ws.close(code, reason);
    if (conn.channel === this) conn.channel = undefined;
    this.session.detach(this);
    if (conn.ws.readyState === 1) conn.ws.send(encodeFrame(this.joinRef, this.joinRef, PHOENIX_TOPIC, "phx_close", {}));
  }

  bufferedBytes(): number {
    return this.conn.ws.bufferedAmount;
  }
}

/**
 * Phoenix channel clients (the `phoenix` npm package) at `/mcp/ws/websocket`:
 * `phx_join` on `mcp:gateway` opens or resumes a session, `message` pushes
 * carry JSON-RPC, `ping`/`ack` pushes and the `phoenix` heartbeat are
 * answered. Auth failures answer the join (the guide's error payload)
 * instead of refusing the upgrade, so the client's `receive("error")` sees them.
 */
export class PhoenixListener {
  #wss?: WebSocketServer;
  /** Created at the first upgrade (ws is loaded then, not at start-up). */
  get wss(): WebSocketServer {
    return (this.#wss ??= this.#createWss());
  }
  readonly heartbeat: HeartbeatSweeper;
  /** Sockets without a joined channel: join deadline and their own cap (src/listeners/phoenix-admission.ts). */
  readonly unjoined: UnjoinedSockets<PhoenixConnection>;

  constructor(readonly ctx: ListenerContext) {
    this.unjoined = new UnjoinedSockets(() => ({ joinTimeout: ctx.config.current.websocket.join_timeout, maxUnauthenticated: ctx.config.current.websocket.max_unauthenticated_sockets }));
    // phoenix.js offers ["phoenix", "base64url.bearer.phx.<token>"] when given an authToken.
    this.heartbeat = new HeartbeatSweeper(() => ctx.config.current.websocket);
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const vsn = queryOf(req).get("vsn") ?? PHOENIX_VSN;
    if (vsn !== PHOENIX_VSN) {
      refuseUpgrade(socket, 400, { error: "invalid_request", message: `unsupported Phoenix serializer vsn ${vsn}; use ${PHOENIX_VSN}` });
      return;
    }
    const peer: PeerAddress = req.socket;
    const conn = { peer } as PhoenixConnection;
    try {
      conn.identity = await this.ctx.authenticate(req);
    } catch (err) {
      conn.authError = toGatewayError(err);
      // Past websocket.max_unauthenticated_sockets the error is said before the handshake: no slot is held.
      if (this.unjoined.unauthenticatedFull()) {
        const e = conn.authError;
        const challenge = this.ctx.challenge?.(req, e);
        refuseUpgrade(socket, e.status, { error: e.code, reason: e.details.reason ?? null, retry_after: e.details.retry_after ?? null }, challenge ? { "www-authenticate": challenge } : undefined);
        return;
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      conn.ws = ws;
      guarded("phoenix open", () => this.#serve(conn), () => ws.close(1011, "internal error"));
    });
  }

  #createWss(): WebSocketServer {
    return createListenerWss(this.ctx, (protocols) => (protocols.has("phoenix") ? "phoenix" : false));
  }

  #serve(conn: PhoenixConnection): void {
    const ws = conn.ws;
    this.#awaitJoin(conn);
    // The socket's listeners are shared functions that find the connection on the socket: closures per socket
    // (with the guard's wrappers) cost ~1 KB for as long as it was open (ADR 0200).
    conn.listener = this;
    (ws as Served)[SERVED] = conn;
    conn.live = this.heartbeat.track(ws, onPhoenixDead);
    ws.on("message", onPhoenixMessage);
    // Too large: 1008 policy violation (the guide), not ws's 1009; onPhoenixError records the reason.
    closeOversizeWith1008(ws);
    ws.on("error", onPhoenixError);
    ws.on("close", onPhoenixClose);
  }

  /** A frame arrived (onPhoenixMessage, inside its guard). */
  frame(conn: PhoenixConnection, data: RawData, isBinary: boolean): void {
    const ws = conn.ws;
    conn.live!.seen = true;
    const frame = isBinary ? undefined : decodeFrame(data.toString());
    // Not a vsn 2.0.0 frame (`null`, `123`, an object...): said on the socket's own topic, the socket stays.
    if (!frame) return void ws.send(replyFrame(null, null, "phoenix", "error", invalidPayload("a frame must be [join_ref, ref, topic, event, payload]")));
    if (conn.held) return void conn.held.push({ frame, size: isBinary ? 0 : (data as Buffer).length });
    try {
      this.#onFrame(conn, frame, isBinary ? 0 : (data as Buffer).length);
    } catch (err) {
      log("error", "MCP.Phoenix", `frame handling failed: ${(err as Error)?.stack ?? err}`);
      ws.send(encodeFrame(frame.joinRef, frame.joinRef, frame.topic, "phx_error", {}));
    }
  }

  /** The socket closed (onPhoenixClose, inside its guard). */
  closed(conn: PhoenixConnection, code: number, reason: Buffer): void {
    this.unjoined.closed(conn);
    this.heartbeat.untrack(conn.live!);
    const sink = conn.channel;
    conn.channel = undefined;
    if (!sink) return;
    const session = sink.session;
    session.detach(sink);
    // The session outlives the socket (until session.ttl): the client rejoins with {session_id, last_seq}.
    this.ctx.onDisconnected(session, code, session.closeReason ?? reason.toString(), "phoenix");
    session.closeReason = undefined;
  }

  #onFrame(conn: PhoenixConnection, f: PhoenixFrame, size: number): void {
    const ws = conn.ws;
    if (f.topic === "phoenix") {
      if (f.event === "heartbeat") ws.send(replyFrame(null, f.ref, "phoenix", "ok", {}));
      return;
    }
    if (f.event === "phx_join") return this.#join(conn, f);
    const channel = conn.channel;
    if (f.topic !== PHOENIX_TOPIC || !channel || (f.joinRef !== null && f.joinRef !== channel.joinRef)) {
      ws.send(replyFrame(f.joinRef, f.ref, f.topic, "error", { reason: "unmatched topic" }));
      return;
    }
    const session = channel.session;
    const payload = (f.payload ?? {}) as Record<string, unknown>;
    switch (f.event) {
      case "message": {
        // The edge check (src/protocol/validate.ts): null, 123, [], a bad id or a too-deep payload is refused
        // in the push's reply and, for JSON-RPC clients, as a -32600 answer on the channel.
        const check = checkMessage(f.payload, this.ctx.config.current.server.max_json_depth);
        if (!check.ok) {
          ws.send(replyFrame(f.joinRef, f.ref, f.topic, "error", { error: check.error.code, code: -32600, reason: check.error.message }));
          session.send(toJsonRpcError(check.error, check.id), check.id ?? undefined);
          return;
        }
        ws.send(replyFrame(f.joinRef, f.ref, f.topic, "ok", {}));
        const message = check.message;
        if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "phoenix", method: (message as { method?: string }).method, size });
        this.ctx.dispatch(session, message);
        return;
      }
      case "ack": {
        const seq = parseSeq(payload.msg_id ?? payload.seq);
        if (seq !== undefined) session.ack(seq);
        ws.send(replyFrame(f.joinRef, f.ref, f.topic, seq === undefined ? "error" : "ok", seq === undefined ? { reason: "ack needs msg_id (a seq)" } : { acked: session.ackedSeq }));
        return;
      }
      case "ping":
        ws.send(replyFrame(f.joinRef, f.ref, f.topic, "ok", { pong: Date.now() }));
        return;
      case "phx_leave":
        ws.send(replyFrame(f.joinRef, f.ref, f.topic, "ok", {}));
        conn.channel = undefined;
        this.#awaitJoin(conn);
        session.detach(channel);
        ws.send(encodeFrame(f.joinRef, f.joinRef, f.topic, "phx_close", {}));
        this.ctx.onDisconnected(session, 1000, "left");
        // Leaving is the client saying it is done with the session.
        this.ctx.registry.end(session);
        return;
      default:
        ws.send(replyFrame(f.joinRef, f.ref, f.topic, "error", { reason: `unknown event ${f.event}` }));
    }
  }

  #join(conn: PhoenixConnection, f: PhoenixFrame, adopted = false, admitted = false): void {
    const ws = conn.ws;
    const joinRef = f.joinRef ?? f.ref ?? "0";
    if (f.topic !== PHOENIX_TOPIC) return void ws.send(replyFrame(joinRef, f.ref, f.topic, "error", { reason: "unmatched topic" }));
    if (conn.authError || !conn.identity) {
      const e = conn.authError ?? new GatewayError("authentication_failed", { reason: "missing_token" });
      return void ws.send(replyFrame(joinRef, f.ref, f.topic, "error", { error: e.code, reason: e.details.reason ?? e.message, retry_after: e.details.retry_after ?? null }));
    }
    const params = (f.payload ?? {}) as { session_id?: unknown; last_seq?: unknown };
    const admit = this.ctx.admit;
    if (admit && !admitted && !(typeof params.session_id === "string" && params.session_id)) {
      // A new session: session caps and the rate window first, later frames held meanwhile (their order is kept).
      const identity = conn.identity!;
      conn.held = [];
      void admit(identity).then(
        () => {
          conn.held = [{ frame: f, size: 0, admitted: true }, ...(conn.held ?? [])];
          this.#release(conn);
        },
        (err) => {
          const e = toGatewayError(err);
          ws.send(replyFrame(joinRef, f.ref, f.topic, "error", { error: e.code, reason: e.message, retry_after: e.details.retry_after ?? null }));
          const held = conn.held ?? [];
          conn.held = undefined;
          // Frames sent after the refused join meet a channel that does not exist.
          for (const h of held) this.#onFrameSafely(conn, h.frame, h.size);
        },
      );
      return;
    }
    // Cluster mode: the session lives on another node; adopt it first, holding later frames meanwhile.
    const cluster = this.ctx.cluster;
    if (cluster && !adopted && typeof params.session_id === "string" && params.session_id && !this.ctx.registry.get(params.session_id)) {
      conn.held = [];
      void cluster
        .adopt(params.session_id)
        .catch(() => false)
        .then(() => {
          const held = conn.held ?? [];
          conn.held = [{ frame: f, size: 0, adopted: true }, ...held];
          this.#release(conn);
        });
      return;
    }
    // A second join of the topic replaces the first (Phoenix semantics); that session stays resumable.
    if (conn.channel) {
      const old = conn.channel;
      conn.channel = undefined;
      old.session.detach(old);
      ws.send(encodeFrame(old.joinRef, old.joinRef, PHOENIX_TOPIC, "phx_close", {}));
      this.ctx.onDisconnected(old.session, 1000, "rejoined");
    }
    const identity = conn.identity;
    let session: Session;
    let resumeFrom: number | undefined;
    if (typeof params.session_id === "string" && params.session_id) {
      // (Cluster adoption happened above, with later frames held so their order is kept.)
      const found = this.ctx.registry.get(params.session_id);
      if (!found || found.closed || !ownsSession(identity, found) || !canSwitch(found.transport, "phoenix")) {
        return void ws.send(replyFrame(joinRef, f.ref, f.topic, "error", { error: "session_not_found", reason: "unknown or expired session", retry_after: null }));
      }
      session = found;
      resumeFrom = parseSeq(params.last_seq) ?? defaultResumePoint(session);
    } else {
      session = this.ctx.registry.create(identity.clientId, "phoenix");
      session.identity = identity;
    }
    const sink = new PhoenixSink(conn, joinRef, session, this.ctx.config.current.backpressure.max_buffered_bytes);
    if (resumeFrom !== undefined) attachResumed(session, sink);
    else session.attach(sink);
    conn.channel = sink;
    this.unjoined.joined(conn);
    ws.send(replyFrame(joinRef, f.ref, f.topic, "ok", { session_id: session.id, client_id: session.clientId, last_seq: session.lastSeq, resumed: resumeFrom !== undefined }));
    if (resumeFrom !== undefined) sink.replay(resumePlan(session, resumeFrom));
    this.ctx.onConnected(session, conn.peer);
  }

  /** The socket has no channel: it must join within websocket.join_timeout or is closed (1008). */
  #awaitJoin(conn: PhoenixConnection): void {
    this.unjoined.wait(conn, conn.identity !== undefined, () => {
      if (conn.channel) return;
      const { code, reason } = toClose(new GatewayError("request_timeout", { reason: "no phx_join within websocket.join_timeout" }));
      conn.ws.close(code, reason);
    });
  }

  #onFrameSafely(conn: PhoenixConnection, frame: PhoenixFrame, size: number): void {
    try {
      this.#onFrame(conn, frame, size);
    } catch (err) {
      log("error", "MCP.Phoenix", `frame handling failed: ${(err as Error)?.stack ?? err}`);
    }
  }

  /** Handles frames held during a cluster adoption or a session admission, in arrival order. */
  #release(conn: PhoenixConnection): void {
    const held = conn.held ?? [];
    conn.held = undefined;
    for (let i = 0; i < held.length; i++) {
      const { frame, size, adopted } = held[i]!;
      const waiting = conn.held as PhoenixConnection["held"];
      if (waiting) {
        waiting.push(...held.slice(i)); // another adoption started: keep the order
        return;
      }
      try {
        if (adopted) this.#join(conn, frame, true);
        else if (held[i]!.admitted) this.#join(conn, frame, false, true);
        else this.#onFrame(conn, frame, size);
      } catch (err) {
        log("error", "MCP.Phoenix", `frame handling failed: ${(err as Error)?.stack ?? err}`);
      }
    }
  }

  /** Closes every socket (1001 on shutdown); peers that do not answer are cut after `graceMs`. */
  closeAll(code: number, reason: string, graceMs = 2000): void {
    closeAllSockets(this.#wss, this.heartbeat, code, reason, graceMs);
  }
}
