import { hostname } from "node:os";
import type { Gateway } from "../gateway.js";
import type { NodeInfo } from "../state/membership.js";
import { RedisBus, RedisEventLog, RedisKeys, RedisLink, RedisMembership, RedisSessionDirectory } from "../state/redis/index.js";
import { channels, log, type ClusterEvent } from "../telemetry/channels.js";
import { Forwarder } from "./forwarder.js";
import { Takeover } from "./takeover.js";
import { Commands, type ClusterCommand } from "./commands.js";
import { HeldSessions } from "./held-sessions.js";

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
 * Per-session bookkeeping (directory entries, event logs, resync) is in
 * HeldSessions (held-sessions.ts).
 */
export class ClusterService {
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
  /** Sessions held here: directory entries, event logs, resync after an outage. */
  readonly sessions: HeldSessions;
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
      onWritten: (id, seq) => this.sessions.written(id, seq),
      onLost: (ids, count) => {
        this.sessions.lost(ids);
        this.emit({ type: "writes_dropped", node: this.nodeId, count });
      },
    });
    this.forwarder = new Forwarder(this);
    this.takeover = new Takeover(this);
    this.commands = new Commands(this);
    this.sessions = new HeldSessions(this);
    this.link.on("down", () => {
      log("warn", "MCP.Cluster", `Redis unreachable (${this.link.lastError ?? "connection lost"}): serving with local state, reconnecting`);
      this.emit({ type: "redis_down", node: this.nodeId, detail: this.link.lastError });
      this.forwarder.failAll();
    });
    this.link.on("up", () => {
      log("info", "MCP.Cluster", "Redis reachable: resyncing sessions and event logs");
      this.emit({ type: "redis_up", node: this.nodeId });
      // Everything local is rewritten: the directory may have lost it (restart without persistence).
      this.sessions.resyncAll();
      void this.heartbeat();
    });
  }

  /** TTL of directory entries and event logs: the session TTL, at least a minute. */
  get ttlMs(): number {
    return Math.max(60_000, this.gateway.config.current.session.ttl);
  }

  /** Starts hooks, subscriptions and heartbeats (waits briefly for Redis, never fails on it). */
  async start(): Promise<void> {
    this.sessions.install();
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
      await this.sessions.sync();
      await this.forwarder.checkOwners();
    } catch (err) {
      log("debug", "MCP.Cluster", `heartbeat failed: ${(err as Error).message}`);
    }
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
    this.sessions.stop();
    for (const s of this.gateway.registry.all()) this.sessions.keep.add(s);
  }

  /** Flushes the event log, leaves the membership and closes the connections. */
  async close(): Promise<void> {
    this.#closing = true;
    this.sessions.stop();
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
