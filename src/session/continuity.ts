import type { DownstreamSink, Session } from "./session.js";
import type { ReplayEntry } from "./replay-buffer.js";
import { channels, type ClientTransportKind } from "../telemetry/channels.js";

/**
 * Session continuity: what a reconnecting client is owed (a gap report and
 * the buffered messages after its last sequence number) and the rules for
 * moving a session from one transport to another. Listeners call these so
 * every transport resumes the same way (docs/protocol.md).
 */

/** Messages `from..to` (inclusive) fell out of the replay buffer before the client read them. */
export interface ReplayGap {
  from: number;
  to: number;
}

/** What a resume sends before live traffic: the gap (if any), then the entries in order. */
export interface ResumePlan {
  gap?: ReplayGap;
  entries: ReplayEntry[];
}

/**
 * The messages a client that last saw `afterSeq` has not seen, on `stream`
 * only (Streamable HTTP) or on all streams (WebSocket, HTTP+SSE, Phoenix:
 * one stream per connection). Priming events (empty bodies) are skipped.
 * Acknowledged messages are not a gap: the client said it has them.
 */
export function resumePlan(session: Session, afterSeq: number, stream?: string): ResumePlan {
  if (!session.hasReplay && session.replay.evictedThrough === 0) return { entries: [] };
  const replay = session.replay;
  const from = Math.max(afterSeq, session.ackedSeq) + 1;
  const gap = replay.evictedThrough >= from ? { from, to: replay.evictedThrough } : undefined;
  const entries = replay.after(afterSeq, stream).filter((e) => e.json !== "");
  // A sequencing gap is what the doctor's "message ordering" branch counts (telemetry/tracker.ts).
  if (gap && channels.client.hasSubscribers) channels.client.publish({ type: "gap", clientId: session.clientId, sessionId: session.id, from: gap.from, to: gap.to });
  return gap ? { gap, entries } : { entries };
}

/**
 * Parses a client's last-seen sequence number (`Last-Event-ID`, `last_seq`):
 * a non-negative integer, or undefined when absent or malformed.
 */
export function parseSeq(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string" || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Where a resume that names no sequence number starts: after everything the
 * gateway handed to a connection. With a connection still attached (the
 * client came back before the old one was seen to die) that is everything;
 * otherwise what was recorded after the last connection went away.
 */
export function defaultResumePoint(session: Session): number {
  return session.sink ? session.lastSeq : session.detachedAtSeq;
}

/**
 * Whether a session living on `from` may continue on `to`. Streamable HTTP
 * sessions stay Streamable HTTP (the MCP spec ties them to Mcp-Session-Id);
 * WebSocket, HTTP+SSE and Phoenix sessions may move freely among themselves.
 */
export function canSwitch(from: ClientTransportKind, to: ClientTransportKind): boolean {
  if (from === to) return true;
  return from !== "streamable_http" && to !== "streamable_http";
}

/**
 * Attaches a new connection to an existing session: the previous one (if
 * still attached) is closed, and a change of transport is published as a
 * `transport_switch` client event.
 */
export function attachResumed(session: Session, sink: DownstreamSink): void {
  const from = session.transport;
  const previous = session.attach(sink);
  if (previous && previous !== sink) previous.close(1000, "session resumed on another connection");
  if (from !== sink.kind && channels.client.hasSubscribers) {
    channels.client.publish({ type: "transport_switch", clientId: session.clientId, sessionId: session.id, from, to: sink.kind });
  }
}

/** The JSON-RPC form of a gap report, for transports without an envelope (bare WebSocket). */
export function gapNotification(gap: ReplayGap): string {
  return `{"jsonrpc":"2.0","method":"notifications/gateway/gap","params":{"from":${gap.from},"to":${gap.to}}}`;
}
