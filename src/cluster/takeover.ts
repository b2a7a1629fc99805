import { randomBytes } from "node:crypto";
import type { DirectoryEntry } from "../state/session-directory.js";
import { StreamableHttpSink } from "../listeners/streamable-http.js";
import { log } from "../telemetry/channels.js";
import { GatewayError, toJsonRpcError } from "../errors/index.js";
import type { Session } from "../session/session.js";
import type { ClusterService } from "./cluster-service.js";

/** Owner-to-adopter handshake messages on node channels. */
type TakeoverMessage = { t: "release"; c: string; id: string; f: string } | { t: "released"; c: string };

/** How long an adopter waits for a live owner to let go (ms). */
const RELEASE_WAIT_MS = 1000;
/** The takeover lock's lifetime (ms): long enough for one adoption, short enough to outlive a crash harmlessly. */
const LOCK_MS = 5000;

/**
 * Session takeover: rebuilds a session on this node from its directory entry
 * (client, negotiated protocol and capabilities, sequence numbers) and its
 * Redis event log (the replay buffer), so a client whose node died, or that
 * reconnects its WebSocket elsewhere, resumes with nothing lost and event
 * ids that stay unique. Sessions hold no upstream connection (upstreams are
 * shared), which is what makes a takeover cheap. A live owner is asked to
 * let go first (it flushes its log and closes its side); a lock keeps two
 * nodes from adopting the same session at once.
 */
export class Takeover {
  readonly #waiting = new Map<string, () => void>();
  readonly #adopting = new Map<string, Promise<boolean>>();
  readonly #prefix = randomBytes(4).toString("hex");
  #seq = 0;
  /** The id being rebuilt right now (the create hook must not write a blank directory entry for it). */
  adoptingId?: string;

  constructor(readonly cluster: ClusterService) {}

  /** Adopts session `id` here; true when it is in the local registry afterwards. */
  adopt(id: string, entry?: DirectoryEntry): Promise<boolean> {
    if (this.cluster.gateway.registry.get(id)) return Promise.resolve(true);
    let p = this.#adopting.get(id);
    if (!p) {
      p = this.#adopt(id, entry)
        .catch((err) => {
          log("warn", "MCP.Cluster", `takeover of ${id} failed: ${(err as Error).message}`);
          return false;
        })
        .finally(() => this.#adopting.delete(id));
      this.#adopting.set(id, p);
    }
    return p;
  }

  async #adopt(id: string, known?: DirectoryEntry): Promise<boolean> {
    const c = this.cluster;
    const registry = c.gateway.registry;
    if (!c.link.up) return false;
    let entry = known ?? (await c.directory.get(id));
    if (!entry) return false;
    const previous = entry.node;
    if (previous !== c.nodeId && (await this.#release(previous, id))) entry = (await c.directory.get(id)) ?? entry;
    const locked = await c.link.cmd.set(c.keys.lock(id), c.nodeId, "PX", LOCK_MS, "NX");
    if (locked !== "OK") return false;
    try {
      const entries = await c.events.read(id);
      if (registry.get(id)) return true;
      this.adoptingId = id;
      let session;
      try {
        session = registry.create(entry.clientId, entry.transport, id);
      } finally {
        this.adoptingId = undefined;
      }
      session.protocolVersion = entry.protocolVersion;
      session.clientCapabilities = entry.clientCapabilities as Record<string, any>;
      if (entry.clientInfo) session.clientInfo = entry.clientInfo;
      session.initialized = entry.initialized;
      const lastLogged = entries.length ? entries[entries.length - 1]!.seq : 0;
      for (const e of entries) session.replay.push(e);
      // What Redis trimmed is a gap, reported to a client resuming from before it.
      if (entries.length && entries[0]!.seq > 1) session.replay.evictedThrough = entries[0]!.seq - 1;
      session.continueAfter(Math.max(entry.lastSeq, lastLogged));
      session.ack(entry.ackedSeq);
      session.detachedAtSeq = entry.ackedSeq;
      if (entry.transport === "streamable_http") session.attach(new StreamableHttpSink(session, c.gateway.config.current.http_sse.retry));
      // Calls the previous owner was serving died with it: answer them, or the client waits forever.
      if (previous !== c.nodeId && entry.inflight?.length) answerLostCalls(session, entry.inflight, previous, entries);
      c.sessions.hold(session, lastLogged);
      await c.directory.put(id, c.sessions.entryOf(session), c.ttlMs);
      c.counters.takeovers++;
      c.emit({ type: "takeover", node: c.nodeId, peer: previous, sessionId: id, count: entries.length });
      log("info", "MCP.Cluster", `took over session ${id} from ${previous} (${entries.length} logged messages, last seq ${session.lastSeq})`, { clientId: entry.clientId });
      return true;
    } finally {
      await c.link.cmd.del(c.keys.lock(id)).catch(() => {});
    }
  }

  /** Asks a live owner to let go of `id`; false when it is gone (nobody on its channel) or did not answer in time. */
  async #release(node: string, id: string): Promise<boolean> {
    const c = this.cluster;
    const corr = `${this.#prefix}.${++this.#seq}`;
    const done = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(corr);
        resolve(false);
      }, RELEASE_WAIT_MS);
      this.#waiting.set(corr, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const message: TakeoverMessage = { t: "release", c: corr, id, f: c.nodeId };
    const n = await c.bus.publish(c.keys.nodeChannel(node), JSON.stringify(message)).catch(() => 0);
    if (n === 0) {
      this.#waiting.get(corr)?.();
      this.#waiting.delete(corr);
      return false;
    }
    return done;
  }

  /** Handshake messages on this node's channel. */
  onMessage(m: TakeoverMessage): void {
    if (m.t === "released") {
      const w = this.#waiting.get(m.c);
      this.#waiting.delete(m.c);
      w?.();
      return;
    }
    if (m.t === "release") void this.#letGo(m);
  }

  /** Another node adopts a session held here: close this side, keep its Redis state, flush the log, confirm. */
  async #letGo(m: { c: string; id: string; f: string }): Promise<void> {
    const c = this.cluster;
    const session = c.gateway.registry.get(m.id);
    if (session) {
      c.sessions.keep.add(session);
      session.sink?.close(1000, "session moved to another node");
      c.gateway.registry.end(session);
      c.counters.released++;
      c.emit({ type: "released", node: c.nodeId, peer: m.f, sessionId: m.id });
    }
    await c.events.flush().catch(() => {});
    // The directory's lastSeq must cover everything this node numbered.
    if (session) await c.directory.touch(m.id, session.lastSeq, c.ttlMs).catch(() => {});
    const reply: TakeoverMessage = { t: "released", c: m.c };
    await c.bus.publish(c.keys.nodeChannel(m.f), JSON.stringify(reply)).catch(() => {});
  }
}

/**
 * Records a `cluster_node_lost` error for each call the dead owner had in
 * flight and never answered (no answer in its event log), so the client's
 * resume delivers it. On Streamable HTTP it ends that request's stream (a
 * resumed GET for it gets the error and closes instead of staying open with
 * nothing); on the other transports it is the next message of the session.
 */
function answerLostCalls(session: Session, ids: Array<string | number>, node: string, logged: Array<{ json: string }>): void {
  // Answers the log already has (the owner answered before it died) are not repeated.
  const answered = new Set<string>();
  for (const e of logged) {
    if (!e.json.includes('"id"')) continue;
    try {
      const m = JSON.parse(e.json) as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
      if (m.method === undefined && (m.result !== undefined || m.error !== undefined)) answered.add(JSON.stringify(m.id));
    } catch {
      // Not JSON (a priming event): nothing answered.
    }
  }
  const stream = session.transport === "websocket" ? "ws" : session.transport === "http_sse" ? "sse" : session.transport === "phoenix" ? "phx" : undefined;
  for (const id of ids) {
    if (answered.has(JSON.stringify(id))) continue;
    const json = JSON.stringify(toJsonRpcError(new GatewayError("cluster_node_lost", { node }), id));
    session.record(json, stream ?? String(id), stream === undefined);
  }
  log("warn", "MCP.Cluster", `session ${session.id}: ${ids.length} call(s) in flight on ${node} answered cluster_node_lost`, { clientId: session.clientId });
}
