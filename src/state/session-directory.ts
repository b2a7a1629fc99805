import type { ClientTransportKind } from "../telemetry/channels.js";

/**
 * What another node needs to take a session over: who owns it, whose it is,
 * what was negotiated at initialize, and how far its numbering has gone.
 */
export interface DirectoryEntry {
  /** The node holding the session now. */
  node: string;
  clientId: string;
  transport: ClientTransportKind;
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo?: { name: string; version: string };
  initialized: boolean;
  /** Highest sequence number assigned (event ids continue after it on takeover). */
  lastSeq: number;
  /** Highest sequence number the client acknowledged. */
  ackedSeq: number;
  createdAt: number;
  /**
   * Client requests in flight on the owning node (their ids as the client
   * sent them), as of its last heartbeat: a node that takes the session over
   * after the owner died answers each with `cluster_node_lost`.
   */
  inflight?: Array<string | number>;
}

/**
 * The cluster's session directory: `sessionId -> DirectoryEntry`, each entry
 * expiring after `ttlMs` unless refreshed. The memory implementation serves
 * tests and the embedded mode; the Redis one is shared by every node.
 */
export interface SessionDirectory {
  /** Writes the whole entry and (re)starts its TTL. */
  put(id: string, entry: DirectoryEntry, ttlMs: number): Promise<void>;
  get(id: string): Promise<DirectoryEntry | undefined>;
  /** Moves ownership to `node` (takeover). */
  setOwner(id: string, node: string, ttlMs: number): Promise<void>;
  /** Updates the sequence numbers and refreshes the TTL (batched by callers). */
  touch(id: string, lastSeq: number, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Encodes an entry as flat string fields (a Redis hash). */
export function encodeEntry(e: DirectoryEntry): Record<string, string> {
  const out: Record<string, string> = {
    node: e.node,
    clientId: e.clientId,
    transport: e.transport,
    protocolVersion: e.protocolVersion,
    caps: JSON.stringify(e.clientCapabilities),
    initialized: e.initialized ? "1" : "0",
    lastSeq: String(e.lastSeq),
    ackedSeq: String(e.ackedSeq),
    createdAt: String(e.createdAt),
  };
  if (e.clientInfo) out.clientInfo = JSON.stringify(e.clientInfo);
  // Always written (also empty), so a rewrite clears the calls that finished.
  out.inflight = JSON.stringify(e.inflight ?? []);
  return out;
}

/** Decodes flat fields; undefined when the entry is missing or unreadable. */
export function decodeEntry(f: Record<string, string>): DirectoryEntry | undefined {
  if (!f.node || !f.clientId) return undefined;
  const json = (s: string | undefined) => {
    try {
      return s ? JSON.parse(s) : undefined;
    } catch {
      return undefined;
    }
  };
  const inflight = inflightIds(json(f.inflight));
  return {
    node: f.node,
    clientId: f.clientId,
    transport: (f.transport ?? "streamable_http") as ClientTransportKind,
    protocolVersion: f.protocolVersion ?? "2025-03-26",
    clientCapabilities: (json(f.caps) as Record<string, unknown>) ?? {},
    clientInfo: json(f.clientInfo) as DirectoryEntry["clientInfo"],
    initialized: f.initialized === "1",
    lastSeq: Number(f.lastSeq) || 0,
    ackedSeq: Number(f.ackedSeq) || 0,
    createdAt: Number(f.createdAt) || Date.now(),
    // Only when there is something: an entry reads back exactly as it was written (the state contract).
    ...(inflight ? { inflight } : {}),
  };
}

/** The in-flight ids of a decoded entry: strings and numbers only (anything else in Redis is ignored). */
function inflightIds(v: unknown): Array<string | number> | undefined {
  if (!Array.isArray(v)) return undefined;
  const ids = v.filter((x): x is string | number => typeof x === "string" || typeof x === "number");
  return ids.length ? ids : undefined;
}
