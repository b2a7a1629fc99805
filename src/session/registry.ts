import type { ClientTransportKind } from "../telemetry/channels.js";
import { newSessionId } from "./ids.js";
import { Session } from "./session.js";
import { BufferBudget } from "./buffer-budget.js";

/** Hooks run when a session ends (upstream cleanup, state directory, ...). */
export type SessionEndHook = (session: Session) => void;

/**
 * All live sessions of this node, by id and by client. Sessions outlive their
 * connections (for resume) until `session.ttl` passes with nothing attached.
 */
export class SessionRegistry {
  readonly #byId = new Map<string, Session>();
  /**
   * A client's one session itself, or a Set once it has several: most clients hold one, and a Set of one
   * cost ~150 B per session (ADR 0200).
   */
  readonly #byClient = new Map<string, Session | Set<Session>>();
  readonly #endHooks: SessionEndHook[] = [];
  readonly #createHooks: SessionEndHook[] = [];
  #replayLimits: { size: number; bytes: number };
  /** Replay and unread socket bytes of every session together (backpressure.max_total_buffered_bytes). */
  readonly budget: BufferBudget;

  constructor(replayLimits: { size: number; bytes: number }, totalBufferedBytes = Number.MAX_SAFE_INTEGER) {
    this.#replayLimits = replayLimits;
    this.budget = new BufferBudget(totalBufferedBytes);
  }

  /** Changes the replay limits of new sessions (runtime config). */
  setReplayLimits(limits: { size: number; bytes: number }): void {
    this.#replayLimits = limits;
  }

  /** Creates a session; `id` is given only when adopting one from another node (cluster takeover). */
  create(clientId: string, transport: ClientTransportKind, id: string = newSessionId()): Session {
    const session = new Session(id, clientId, transport, this.#replayLimits, this.budget);
    this.#byId.set(session.id, session);
    const held = this.#byClient.get(clientId);
    if (held === undefined) this.#byClient.set(clientId, session);
    else if (held instanceof Set) held.add(session);
    else this.#byClient.set(clientId, new Set([held, session]));
    for (const hook of this.#createHooks) hook(session);
    return session;
  }

  get(id: string): Session | undefined {
    return this.#byId.get(id);
  }

  /** Sessions of one client. */
  byClient(clientId: string): Session[] {
    const held = this.#byClient.get(clientId);
    return held === undefined ? [] : held instanceof Set ? [...held] : [held];
  }

  /** How many live sessions a client has (no copy, for admission checks). */
  countOf(clientId: string): number {
    const held = this.#byClient.get(clientId);
    return held === undefined ? 0 : held instanceof Set ? held.size : 1;
  }

  /** Every client id with a live session. */
  clientIds(): string[] {
    return [...this.#byClient.keys()];
  }

  all(): IterableIterator<Session> {
    return this.#byId.values();
  }

  get size(): number {
    return this.#byId.size;
  }

  onEnd(hook: SessionEndHook): void {
    this.#endHooks.push(hook);
  }

  /** Hooks run when a session is created here (the cluster's session directory). */
  onCreate(hook: SessionEndHook): void {
    this.#createHooks.push(hook);
  }

  /** Ends a session: detaches it everywhere and runs the end hooks. */
  end(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    this.#byId.delete(session.id);
    const held = this.#byClient.get(session.clientId);
    if (held === session) this.#byClient.delete(session.clientId);
    else if (held instanceof Set && held.delete(session)) {
      // Back to one: the session itself again.
      if (held.size === 1) this.#byClient.set(session.clientId, held.values().next().value!);
      else if (held.size === 0) this.#byClient.delete(session.clientId);
    }
    for (const hook of this.#endHooks) hook(session);
    // After the hooks (the cluster may still read the replay): its bytes leave the budget.
    session.releaseBuffers();
  }

  /**
   * Ends sessions with no connection for longer than `ttlMs`. A sink that
   * stays attached without holding a connection (Streamable HTTP: no POST or
   * GET open) says so through `idle()`, so those sessions expire too.
   */
  expire(ttlMs: number, now = Date.now()): number {
    let n = 0;
    for (const s of [...this.#byId.values()]) {
      const sink = s.sink;
      if ((sink === null || sink.idle?.() === true) && now - s.lastActivity > ttlMs) {
        sink?.close();
        this.end(s);
        n++;
      }
    }
    return n;
  }
}
