/** What a node tells the others about itself at every heartbeat. */
export interface NodeInfo {
  id: string;
  /** Where it listens (http://host:port). */
  url: string;
  pid: number;
  version: string;
  started_at: string;
  last_seen: string;
  /** Sessions held (attached or waiting for a resume). */
  sessions: number;
  /** Sessions with a client connection attached. */
  connections: number;
  messages_in: number;
  messages_out: number;
  rss_mb: number;
  /** Redis writes queued on that node. */
  pending_writes: number;
}

/**
 * Node membership with heartbeats: each node announces itself with a TTL;
 * a node whose announcement expired is gone.
 */
export interface Membership {
  announce(node: NodeInfo, ttlMs: number): Promise<void>;
  /** Every node with a live announcement. */
  list(): Promise<NodeInfo[]>;
  leave(id: string): Promise<void>;
}
