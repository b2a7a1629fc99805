import { hostname } from "node:os";
import type { Gateway } from "../gateway.js";
import type { Session, SessionEventLog } from "../session/session.js";
import { encodeEntry, type DirectoryEntry } from "../state/session-directory.js";
import type { NodeInfo } from "../state/membership.js";
import { RedisBus, RedisEventLog, RedisKeys, RedisLink, RedisMembership, RedisSessionDirectory } from "../state/redis/index.js";
import { channels, log, type ClusterEvent } from "../telemetry/channels.js";
import { Forwarder } from "./forwarder.js";
import { Takeover } from "./takeover.js";
import { Commands, type ClusterCommand } from "./commands.js";

/** What this node knows of one session it holds (directory sync, event-log progress). */
interface Held {
  /** Directory fields last written (initialized, protocol, transport): rewritten when they change. */
  sig: string;
  /** Highest seq known to be in the Redis event log. */
  logged: number;
  /** When the directory entry's TTL was last refreshed. */
  refreshed: number;
}

/** The cluster as `/mcp/stats`, `/health/gateway` and the CLI show it. */
export interface ClusterView {
  enabled: true;
  node_id: string;
  redis: "connected" | "disconnected";
  redis_error: string | null;
  node_count: number;
  sessions_total: number;
  nodes: NodeInfo[];
  /** Requests this node forwarded to owners / served for other nodes; sessions adopted / released. */
  forwarded: number;
  served_for_peers: number;
  takeovers: number;
  released: number;
  pending_writes: number;
  dropped_writes: number;
  /** Breaker openings other nodes reported (most recent first, at most 20). */
  peer_breaker_openings: Array<{ node: string; target: string; at: string; applied: boolean }>;
}

/**
 * One gateway node's membership in a cluster sharing a Redis: the session
 * directory (`sessionId -> owner, client, negotiated state, lastSeq`), the
 * per-session event log (Redis Streams), node heartbeats and the cluster
 * view, request forwarding and session takeover (so a load balancer needs no
 * stickiness), cluster-wide admin commands and breaker openings. Installed
 * only when `cluster.redis_url` (REDIS_URL) is set; without it the gateway
 * runs exactly as before. Redis being down degrades to local state, never a
 * crash: writes are capped while it is away and resynced when it returns.
 */
export class ClusterService implements SessionEventLog {
  readonly nodeId: string;
  readonly keys: RedisKeys;
  readonly link: RedisLink;
  readonly bus: RedisBus;
  readonly directory: RedisSessionDirectory;
  readonly events: RedisEventLog;
  readonly membership: RedisMembership;
  readonly forwarder: Forwarder;
  readonly takeover: Takeover;
  readonly commands: Commands;
  readonly #held = new Map<string, Held>();
  /** Sessions whose Redis copy must be rewritten from the local buffer (writes lost while Redis was away). */
  readonly #resync = new Set<string>();
  /** Sessions leaving this node without ending (takeover by another node, shutdown): keep their Redis state. */
  readonly keep = new WeakSet<Session>();
  #nodes: NodeInfo[] = [];
  #timer?: NodeJS.Timeout;
  #closing = false;
  #beat?: Promise<void>;
  counters = { forwarded: 0, served: 0, takeovers: 0, released: 0 };
  readonly peerOpenings: ClusterView["peer_breaker_openings"] = [];

  constructor(readonly gateway: Gateway) {
    const c = gateway.config.current.cluster;
    this.nodeId = c.node_id ?? `${hostname()}:${process.pid}`;
    this.keys = new RedisKeys(c.key_prefix);
    this.link = new RedisLink(c.redis_url!);
    this.bus = new RedisBus(this.link);
    this.directory = new RedisSessionDirectory(this.link, this.keys);
    this.membership = new RedisMembership(this.link, this.keys);
    this.events = new RedisEventLog(this.link, this.keys, {
      maxPerSession: () => gateway.config.current.session.replay_buffer_size,
      ttlMs: () => this.ttlMs,
      maxPending: c.max_pending_writes,
      floor: (id) => {
        const s = gateway.registry.get(id);
        return s ? Math.max(s.replay.evictedThrough, s.ackedSeq) + 1 : 0;
      },
      onWritten: (id, seq) => {
        const h = this.#held.get(id);
        if (h && seq > h.logged) h.logged = seq;
      },
      onLost: (ids, count) => {
        for (const id of ids) if (this.#held.has(id)) this.#resync.add(id);
        this.emit({ type: "writes_dropped", node: this.nodeId, count });
      },
    });
    this.forwarder = new Forwarder(this);
    this.takeover = new Takeover(this);
    this.commands = new Commands(this);
    this.link.on("down", () => {
      log("warn", "MCP.Cluster", `Redis unreachable (${this.link.lastError ?? "connection lost"}): serving with local state, reconnecting`);
      this.emit({ type: "redis_down", node: this.nodeId, detail: this.link.lastError });
      this.forwarder.failAll();
    });
    this.link.on("up", () => {
      log("info", "MCP.Cluster", "Redis reachable: resyncing sessions and event logs");
      this.emit({ type: "redis_up", node: this.nodeId });
      // Everything local is rewritten: the directory may have lost it (restart without persistence).
      for (const id of this.#held.keys()) this.#resync.add(id);
      void this.heartbeat();
    });
  }

  /** TTL of directory entries and event logs: the session TTL, at least a minute. */
  get ttlMs(): number {
    return Math.max(60_000, this.gateway.config.current.session.ttl);
  }

  /** Starts hooks, subscriptions and heartbeats (waits briefly for Redis, never fails on it). */
  async start(): Promise<void> {
    const registry = this.gateway.registry;
    registry.onCreate((s) => this.#onCreate(s));
    registry.onEnd((s) => this.#onEnd(s));
    this.commands.install();
    await this.link.ready(2000);
    await Promise.all([
      this.bus.subscribe(this.keys.nodeChannel(this.nodeId), (m) => this.#onNodeMessage(m)),
      this.bus.subscribe(this.keys.broadcast, (m) => this.commands.onBroadcast(m)),
    ]).catch(() => {});
    await this.heartbeat().catch(() => {});
    this.#timer = setInterval(() => void this.heartbeat(), this.gateway.config.current.cluster.heartbeat_interval);
    this.#timer.unref();
  }

  /** SessionEventLog: a recorded message goes to the Redis stream (queued, batched). */
  append(session: Session, seq: number, stream: string, json: string, last: boolean): void {
    this.events.append(session.id, last ? { seq, stream, json, last } : { seq, stream, json });
  }

  /** A session this node now holds: its directory entry and event log follow it. */
  hold(session: Session, logged = 0): void {
    session.eventLog = this;
    this.#held.set(session.id, { sig: signature(session), logged, refreshed: Date.now() });
  }

  #onCreate(session: Session): void {
    // A takeover fills the session in first, then writes its entry itself.
    if (this.takeover.adoptingId === session.id) return;
    this.hold(session);
    if (this.link.up) void this.directory.put(session.id, this.entryOf(session), this.ttlMs).catch(() => this.#resync.add(session.id));
    else this.#resync.add(session.id);
  }

  #onEnd(session: Session): void {
    this.#held.delete(session.id);
    this.#resync.delete(session.id);
    session.eventLog = undefined;
    // Released to another node, or this node is shutting down: clients resume elsewhere from Redis.
    if (this.keep.has(session) || this.#closing) return;
    this.events.forget(session.id);
    if (this.link.up) void this.directory.delete(session.id).catch(() => {});
  }

  /** The directory entry describing a local session. */
  entryOf(session: Session): DirectoryEntry {
    return {
      node: this.nodeId,
      clientId: session.clientId,
      transport: session.transport,
      protocolVersion: session.protocolVersion,
      clientCapabilities: session.clientCapabilities,
      clientInfo: session.clientInfo,
      initialized: session.initialized,
      lastSeq: session.lastSeq,
      ackedSeq: session.ackedSeq,
      createdAt: session.createdAt,
    };
  }

  /**
   * One heartbeat: announce this node, refresh the view, write directory
   * changes (initialize finished, transport switched), refresh TTLs, resync
   * what Redis lost, and notice owners that died under open forwards.
   */
  heartbeat(): Promise<void> {
    if (this.#beat) return this.#beat;
    this.#beat = this.#heartbeat().finally(() => (this.#beat = undefined));
    return this.#beat;
  }

  async #heartbeat(): Promise<void> {
    if (!this.link.up || this.#closing) return;
    const c = this.gateway.config.current.cluster;
    try {
      await this.membership.announce(this.#selfInfo(), c.node_timeout);
      const before = new Set(this.#nodes.map((n) => n.id));
      this.#nodes = await this.membership.list();
      const now = new Set(this.#nodes.map((n) => n.id));
      for (const id of now) if (!before.has(id) && id !== this.nodeId && before.size > 0) this.emit({ type: "node_joined", node: this.nodeId, peer: id });
      for (const id of before) if (!now.has(id)) this.emit({ type: "node_left", node: this.nodeId, peer: id });
      await this.#syncDirectory();
      await this.forwarder.checkOwners();
    } catch (err) {
      log("debug", "MCP.Cluster", `heartbeat failed: ${(err as Error).message}`);
    }
  }

  async #syncDirectory(): Promise<void> {
    const registry = this.gateway.registry;
    const ttl = this.ttlMs;
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
    const read = this.link.cmd.pipeline();
    for (const d of due) read.hget(this.keys.session(d.id), "node");
    const owners = (await read.exec()) ?? [];
    const p = this.link.cmd.pipeline();
    due.forEach(({ id, h, s, resync }, i) => {
      const owner = owners[i]?.[1] as string | null | undefined;
      if (owner && owner !== this.nodeId) return this.#yieldTo(s, owner);
      const key = this.keys.session(id);
      p.hset(key, encodeEntry(this.entryOf(s))).pexpire(key, ttl).pexpire(this.keys.events(id), ttl);
      if (resync) {
        this.#resync.delete(id);
        // What the local replay buffer has that Redis may not (entries it has are refused by id, harmlessly).
        if (s.hasReplay) for (const e of s.replay.after(0)) this.events.append(id, e);
      }
      h.sig = signature(s);
      h.refreshed = now;
    });
    await p.exec();
  }

  /** Another node took this session over while this one could not see Redis: let go (its client resumes there). */
  #yieldTo(session: Session, owner: string): void {
    log("warn", "MCP.Cluster", `session ${session.id} was taken over by ${owner} while this node was cut off from Redis: letting go`, { clientId: session.clientId });
    this.keep.add(session);
    session.sink?.close(1000, "session moved to another node");
    this.gateway.registry.end(session);
    this.counters.released++;
    this.emit({ type: "released", node: this.nodeId, peer: owner, sessionId: session.id });
  }

  #selfInfo(): NodeInfo {
    let connections = 0;
    let messagesIn = 0;
    let messagesOut = 0;
    for (const s of this.gateway.registry.all()) {
      if (s.sink) connections++;
      messagesIn += s.messagesIn;
      messagesOut += s.messagesOut;
    }
    const address = this.gateway.server.address();
    const port = address && typeof address === "object" ? address.port : 0;
    return {
      id: this.nodeId,
      url: `http://${this.gateway.config.current.server.host}:${port}`,
      pid: process.pid,
      version: "0.1.0",
      started_at: new Date(this.gateway.startedAt).toISOString(),
      last_seen: new Date().toISOString(),
      sessions: this.gateway.registry.size,
      connections,
      messages_in: messagesIn,
      messages_out: messagesOut,
      rss_mb: Math.round(process.memoryUsage.rss() / 1048576),
      pending_writes: this.events.pending,
    };
  }

  #onNodeMessage(raw: string): void {
    const m = JSON.parse(raw) as { t: string };
    if (m.t === "req" || m.t === "res" || m.t === "abort") this.forwarder.onMessage(m as never);
    else this.takeover.onMessage(m as never);
  }

  /** Sends a command to every node (this one included); see Commands for the handlers. */
  broadcast(command: ClusterCommand): Promise<number> {
    return this.commands.broadcast(command);
  }

  /** Live nodes as of the last heartbeat. */
  get nodes(): readonly NodeInfo[] {
    return this.#nodes;
  }

  /** The cluster view (synchronous: figures from the last heartbeat plus this node's live ones). */
  view(): ClusterView {
    const self = this.#selfInfo();
    const nodes = [self, ...this.#nodes.filter((n) => n.id !== this.nodeId)].sort((a, b) => a.id.localeCompare(b.id));
    return {
      enabled: true,
      node_id: this.nodeId,
      redis: this.link.up ? "connected" : "disconnected",
      redis_error: this.link.up ? null : (this.link.lastError ?? null),
      node_count: nodes.length,
      sessions_total: nodes.reduce((a, n) => a + n.sessions, 0),
      nodes,
      forwarded: this.counters.forwarded,
      served_for_peers: this.counters.served,
      takeovers: this.counters.takeovers,
      released: this.counters.released,
      pending_writes: this.events.pending,
      dropped_writes: this.events.dropped,
      peer_breaker_openings: this.peerOpenings.slice(0, 20),
    };
  }

  /** The figures /metrics exports (cheap: no walk over the sessions). */
  figures(): { node: string; redis_up: boolean; nodes: number; counters: Record<string, number> } {
    return {
      node: this.nodeId,
      redis_up: this.link.up,
      nodes: Math.max(1, this.#nodes.length),
      counters: { ...this.counters, dropped_writes: this.events.dropped },
    };
  }

  /** The health check contributed to `/health` and `/health/gateway`. */
  healthCheck(): { status: "ok" | "degraded"; detail: string } {
    if (!this.link.up) return { status: "degraded", detail: `Redis unreachable (${this.link.lastError ?? "connecting"}): serving with local state only` };
    return { status: "ok", detail: `${Math.max(1, this.#nodes.length)} node(s), Redis connected` };
  }

  /** Publishes a cluster event (telemetry subscribes). */
  emit(event: ClusterEvent): void {
    if (channels.cluster.hasSubscribers) channels.cluster.publish(event);
  }

  /** The gateway is stopping: sessions stay in Redis (clients resume on other nodes). */
  draining(): void {
    this.#closing = true;
    for (const s of this.gateway.registry.all()) this.keep.add(s);
  }

  /** Flushes the event log, leaves the membership and closes the connections. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    this.forwarder.failAll();
    if (this.link.up) {
      await this.events.flush().catch(() => {});
      await this.membership.leave(this.nodeId).catch(() => {});
    }
    await this.bus.close();
    await this.link.close();
  }
}

/** Directory fields that change after creation and must reach Redis (seq is written with the log). */
function signature(s: Session): string {
  return `${s.initialized ? 1 : 0}|${s.protocolVersion}|${s.transport}|${s.ackedSeq}`;
}
