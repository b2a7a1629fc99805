import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import { GatewayError, toGatewayError } from "../errors/index.js";
import type { DownstreamSink, Session } from "../session/session.js";
import type { ListenerContext } from "./context.js";
import { ownsSession } from "./identity.js";
import { accepts, queryOf, parseJsonRpcBody, readBody, sendError, sendRpcError } from "./http-util.js";
import { sseEvent, startSse, writeSseParts } from "./sse-writer.js";
import { partsText, rawParts } from "../protocol/raw-reply.js";
import { channels } from "../telemetry/channels.js";
import { SseDebugTap } from "./sse-debug.js";
import { sseHeartbeat, type Beating, type SseHeartbeat } from "./sse-heartbeat.js";
import { checkMessage } from "../protocol/validate.js";
import { attachResumed, canSwitch, defaultResumePoint, parseSeq, resumePlan } from "../session/continuity.js";
import { noteHttpTraceContext } from "../protocol/trace-context.js";

/** Path clients POST their messages to (the `endpoint` event names it with the session). */
export const LEGACY_POST_PATH = "/mcp/messages";

/**
 * The HTTP+SSE (2024-11-05) side of a session: one long-lived event stream
 * carrying `message` events (with sequence ids for resume) and the guide's
 * `heartbeat` events.
 */
export class LegacySseSink implements DownstreamSink, Beating {
  readonly kind = "http_sse" as const;
  readonly #heartbeat?: SseHeartbeat;
  /** `?debug=true` streams: debug events beside the messages (src/listeners/sse-debug.ts). */
  debug: SseDebugTap | null = null;

  constructor(
    readonly res: ServerResponse,
    heartbeatMs: number,
    readonly retryMs = 2000,
  ) {
    // One shared timer beats every stream (src/listeners/sse-heartbeat.ts); stopHeartbeat() on close.
    if (heartbeatMs > 0) (this.#heartbeat = sseHeartbeat(heartbeatMs)).add(this);
  }

  beat(now: number): void {
    if (!this.res.writableEnded) this.res.write(sseEvent(JSON.stringify({ ts: now }), undefined, "heartbeat"));
  }

  /** The stream closed (either side): no more heartbeats. */
  stopHeartbeat(): void {
    this.#heartbeat?.delete(this);
  }

  deliver(message: JsonRpcMessage, _relatedId: unknown, session: Session): boolean {
    // A large reply relayed as text (ADR 0211) comes in pieces; everything else is stringified as always.
    const parts = rawParts(message);
    const json = parts === undefined ? JSON.stringify(message) : partsText(parts);
    if (channels.message.hasSubscribers) channels.message.publish({ direction: "outbound", clientId: session.clientId, sessionId: session.id, transport: "http_sse", size: json.length });
    const seq = session.record(json, "sse");
    // Ended (closed by the gateway) but not yet detached: the message waits in the replay buffer.
    if (this.res.writableEnded) return false;
    // A large reply relayed as text goes out in pieces (ADR 0211).
    const ok = parts === undefined ? this.res.write(sseEvent(json, seq, "message")) : writeSseParts(this.res, parts, seq, "message");
    this.debug?.sent(message, seq, json.length);
    return ok;
  }

  /** Ends the stream; on shutdown (1001) it first tells the client when to come back (`retry:`). */
  close(code?: number): void {
    this.stopHeartbeat();
    if (code === 1001 && !this.res.writableEnded) this.res.write(`retry: ${this.retryMs}\n\n`);
    this.res.end();
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }
}

/**
 * `GET /mcp/sse?client_id=...`: opens the stream. First event `endpoint`
 * (where to POST), then the guide's `connected` event, then messages.
 * Reconnecting with `session_id` (and Last-Event-ID) resumes the session.
 */
export async function handleLegacySseStream(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  // Cluster mode: resuming a session another node holds (src/cluster/).
  const held = ctx.cluster !== undefined ? queryOf(req).get("session_id") : null;
  if (held && !ctx.registry.get(held) && (await ctx.cluster!.claim(held, req, res, (r, s) => handleLegacySseStream(r, s, ctx)))) return;
  if (!accepts(req, "text/event-stream")) return sendError(res, new GatewayError("not_acceptable", { detail: "needs Accept: text/event-stream" }));
  let identity;
  try {
    identity = await ctx.authenticate(req);
  } catch (err) {
    return ctx.refuse(res, toGatewayError(err));
  }
  const config = ctx.config.current;
  const query = queryOf(req);
  const resumeId = query.get("session_id");
  let session: Session | undefined;
  let resumeFrom: number | undefined;
  if (resumeId) {
    session = ctx.registry.get(resumeId);
    // A WebSocket or Phoenix session may continue here (transport switch); a Streamable HTTP one may not.
    if (!session || session.closed || !ownsSession(identity, session) || !canSwitch(session.transport, "http_sse")) {
      return sendError(res, new GatewayError("session_not_found", { session_id: resumeId }));
    }
    // No id named: replay what was recorded since the last connection went away.
    resumeFrom = parseSeq(req.headers["last-event-id"]) ?? parseSeq(query.get("last_event_id")) ?? defaultResumePoint(session);
  } else {
    // Opening a stream creates a session: it passes the session caps and costs a request of the rate window.
    try {
      await ctx.admit?.(identity);
    } catch (err) {
      return sendError(res, toGatewayError(err));
    }
    session = ctx.registry.create(identity.clientId, "http_sse");
    session.identity = identity;
  }
  startSse(res, config.http_sse.retry);
  const sink = new LegacySseSink(res, config.http_sse.heartbeat_interval, config.http_sse.retry);
  if (resumeFrom !== undefined) attachResumed(session, sink);
  else session.attach(sink);
  // A self-named (dev) client's POSTs must carry its name, since the session is bound to it: the endpoint says it, so clients that post where they are told keep working.
  const named = session.identity?.binding !== undefined && !session.clientId.startsWith("anon-") ? `&client_id=${encodeURIComponent(session.clientId)}` : "";
  res.write(sseEvent(`${LEGACY_POST_PATH}?session_id=${session.id}${named}`, undefined, "endpoint"));
  res.write(sseEvent(JSON.stringify({ session_id: session.id, client_id: session.clientId, transport: "http_sse", last_seq: session.lastSeq }), undefined, "connected"));
  sink.debug = SseDebugTap.open(query.get("debug"), config, res, session);
  if (resumeFrom !== undefined) {
    ctx.onResume?.(session, resumeFrom);
    const plan = resumePlan(session, resumeFrom);
    // What fell out of the replay buffer is said, never skipped silently.
    if (plan.gap) res.write(sseEvent(JSON.stringify(plan.gap), undefined, "gap"));
    for (const e of plan.entries) res.write(sseEvent(e.json, e.seq, "message"));
  }
  ctx.onConnected(session, req.socket);
  const s = session;
  // `on`, not `once`: a response closes once, and a `once` wrapper would cost ~110 B more per open stream.
  res.on("close", () => {
    sink.stopHeartbeat();
    s.detach(sink);
    ctx.onDisconnected(s, undefined, "stream closed", "http_sse");
  });
}

/** `POST /mcp/messages?session_id=...`: one message in, 202 out; the answer comes on the stream. */
export async function handleLegacySsePost(req: IncomingMessage, res: ServerResponse, ctx: ListenerContext): Promise<void> {
  const id = queryOf(req).get("session_id");
  // Cluster mode: the stream lives on another node; the message goes there (src/cluster/).
  if (id && ctx.cluster !== undefined && !ctx.registry.get(id) && (await ctx.cluster.claim(id, req, res, (r, s) => handleLegacySsePost(r, s, ctx)))) return;
  const session = id ? ctx.registry.get(id) : undefined;
  if (!id) return sendRpcError(res, new GatewayError("session_required"));
  // Any session this transport can carry: its own, or a WebSocket/Phoenix one switching over.
  if (!session || session.closed || !canSwitch(session.transport, "http_sse")) return sendRpcError(res, new GatewayError("session_not_found", { session_id: id }));
  const check = await ctx.verify(req, session);
  if (check) return ctx.refuse(res, check);
  let body: string;
  let message: JsonRpcMessage;
  try {
    body = await readBody(req, ctx.config.current.server.body_limit);
    message = parseJsonRpcBody(body);
  } catch (err) {
    return sendRpcError(res, toGatewayError(err));
  }
  // The edge check: `null`, `123`, a bad id or too deep a message is refused on this POST (400), never dispatched.
  const valid = checkMessage(message, ctx.config.current.server.max_json_depth);
  if (!valid.ok) return sendRpcError(res, valid.error, valid.id);
  if (channels.message.hasSubscribers) channels.message.publish({ direction: "inbound", clientId: session.clientId, sessionId: session.id, transport: "http_sse", method: (message as { method?: string }).method, size: body.length });
  res.writeHead(202, { "content-type": "text/plain" });
  res.end("Accepted");
  noteHttpTraceContext(req, message);
  ctx.dispatch(session, message);
}
