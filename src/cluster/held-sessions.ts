import type { Session, SessionEventLog } from "../session/session.js";
import { encodeEntry, type DirectoryEntry } from "../state/session-directory.js";
import { log } from "../telemetry/channels.js";
import type { ClusterService } from "./cluster-service.js";

/** What this node knows of one session it holds (directory sync, event-log progress). */
interface Held {
  /** Directory fields last written (initialized, protocol, transport): rewritten when they change. */
  sig: string;
  /** Highest seq known to be in the Redis event log. */
  logged: number;
  /** When the directory entry's TTL was last refreshed. */
  refreshed: number;
}

/**
 * The sessions this node holds and their copy in Redis: each one's directory
 * entry (written at creation, rewritten when its negotiated state changes,
 * TTL refreshed, deleted when it ends) and its event log (every recorded
 * message is appended). What Redis lost while it was away is marked for
 * resync and rewritten from the local state at the next heartbeat. The
 * ClusterService owns the connections and the heartbeat; this class owns
 * the per-session bookkeeping.
 */
export class HeldSessions implements SessionEventLog {
  readonly #held = new Map<string, Held>();
  /** Sessions whose Redis copy must be rewritten from the local buffer (writes lost while Redis was away). */
  readonly #resync = new Set<string>();
  /** Sessions leaving this node without ending (takeover by another node, shutdown): keep their Redis state. */
  readonly keep = new WeakSet<Session>();
  #closing = false;

  constructor(readonly cluster: ClusterService) {}

  /** Follows the registry: sessions created here are held, ended ones are dropped (and their Redis state with them). */
  install(): void {
    const registry = this.cluster.gateway.registry;
    registry.onCreate((s) => this.#onCreate(s));
    registry.onEnd((s) => this.#onEnd(s));
  }

  /** SessionEventLog: a recorded message goes to the Redis stream (queued, batched). */
  append(session: Session, seq: number, stream: string, json: string, last: boolean): void {
    this.cluster.events.append(session.id, last ? { seq, stream, json, last } : { seq, stream, json });
  }

  /** A session this node now holds: its directory entry and event log follow it. */
  hold(session: Session, logged = 0): void {
    session.eventLog = this;
    this.#held.set(session.id, { sig: signature(session), logged, refreshed: Date.now() });
  }

  /** The event log confirmed `seq` of session `id` written. */
  written(id: string, seq: number): void {
    const h = this.#held.get(id);
    if (h && seq > h.logged) h.logged = seq;
  }

  /** Writes of these sessions were dropped: rewrite them at the next sync. */
  lost(ids: Iterable<string>): void {
    for (const id of ids) if (this.#held.has(id)) this.#resync.add(id);
  }

  /** Redis is back (and may have lost everything): rewrite every held session at the next sync. */
  resyncAll(): void {
    for (const id of this.#held.keys()) this.#resync.add(id);
  }

  /** The gateway is stopping (or this service closing): ending sessions keep their Redis state. */
  stop(): void {
    this.#closing = true;
  }

  #onCreate(session: Session): void {
    const c = this.cluster;
    // A takeover fills the session in first, then writes its entry itself.
    if (c.takeover.adoptingId === session.id) return;
    this.hold(session);
    if (c.link.up) void c.directory.put(session.id, this.entryOf(session), c.ttlMs).catch(() => this.#resync.add(session.id));
    else this.#resync.add(session.id);
  }

  #onEnd(session: Session): void {
    const c = this.cluster;
    this.#held.delete(session.id);
    this.#resync.delete(session.id);
    session.eventLog = undefined;
    // Released to another node, or this node is shutting down: clients resume elsewhere from Redis.
    if (this.keep.has(session) || this.#closing) return;
    c.events.forget(session.id);
    if (c.link.up) void c.directory.delete(session.id).catch(() => {});
  }

  /** The directory entry describing a local session. */
  entryOf(session: Session): DirectoryEntry {
    return {
      node: this.cluster.nodeId,
      clientId: session.clientId,
      transport: session.transport,
      protocolVersion: session.protocolVersion,
      clientCapabilities: session.clientCapabilities,
      clientInfo: session.clientInfo,
      initialized: session.initialized,
      lastSeq: session.lastSeq,
      ackedSeq: session.ackedSeq,
      createdAt: session.createdAt,
      inflight: inflightOf(session),
    };
  }

  /**
   * Heartbeat step: writes directory changes (initialize finished, transport
   * switched), refreshes TTLs, and resyncs what Redis lost; a session another
   * node took over meanwhile is let go.
   */
  async sync(): Promise<void> {
    const c = this.cluster;
    const registry = c.gateway.registry;
    const ttl = c.ttlMs;
    const now = Date.now();
    const due: Array<{ id: string; h: Held; s: Session; resync: boolean }> = [];
    for (const [id, h] of this.#held) {
      const s = registry.get(id);
      if (!s) continue;
      const resync = this.#resync.has(id);
      if (resync || signature(s) !== h.sig || now - h.refreshed > ttl / 3) due.push({ id, h, s, resync });
    }
    if (due.length === 0) return;
    // Who owns them now: a node cut off from Redis may find its sessions taken over meanwhile.
    const read = c.link.cmd.pipeline();
    for (const d of due) read.hget(c.keys.session(d.id), "node");
    const owners = (await read.exec()) ?? [];
    const p = c.link.cmd.pipeline();
    due.forEach(({ id, h, s, resync }, i) => {
      const owner = owners[i]?.[1] as string | null | undefined;
      if (owner && owner !== c.nodeId) return this.#yieldTo(s, owner);
      const key = c.keys.session(id);
      p.hset(key, encodeEntry(this.entryOf(s))).pexpire(key, ttl).pexpire(c.keys.events(id), ttl);
      if (resync) {
        this.#resync.delete(id);
        // What the local replay buffer has that Redis may not (entries it has are refused by id, harmlessly).
        if (s.hasReplay) for (const e of s.replay.after(0)) c.events.append(id, e);
      }
      h.sig = signature(s);
      h.refreshed = now;
    });
    await p.exec();
  }

  /** Another node took this session over while this one could not see Redis: let go (its client resumes there). */
  #yieldTo(session: Session, owner: string): void {
    const c = this.cluster;
    log("warn", "MCP.Cluster", `session ${session.id} was taken over by ${owner} while this node was cut off from Redis: letting go`, { clientId: session.clientId });
    this.keep.add(session);
    session.sink?.close(1000, "session moved to another node");
    c.gateway.registry.end(session);
    c.counters.released++;
    c.emit({ type: "released", node: c.nodeId, peer: owner, sessionId: session.id });
  }
}

/** Most in-flight ids written per session (a takeover answers these; the rest fail on the client's own timeout). */
const MAX_INFLIGHT_IDS = 100;

/** The client ids of the session's calls in flight here (written to the directory at each heartbeat). */
function inflightOf(s: Session): Array<string | number> {
  const out: Array<string | number> = [];
  if (s.inflight) {
    for (const call of s.inflight.values()) {
      if (out.length >= MAX_INFLIGHT_IDS) break;
      const id = call.originalId;
      if (typeof id === "string" || typeof id === "number") out.push(id);
    }
  }
  return out;
}

/** Directory fields that change after creation and must reach Redis (seq is written with the log; in-flight calls at each heartbeat). */
function signature(s: Session): string {
  return `${s.initialized ? 1 : 0}|${s.protocolVersion}|${s.transport}|${s.ackedSeq}|${inflightOf(s).join(",")}`;
}
