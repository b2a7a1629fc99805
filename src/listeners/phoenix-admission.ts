/**
 * Phoenix sockets that have not joined. A Phoenix client's channel join is
 * where it starts its session, and a socket whose upgrade carried no valid
 * credentials is kept open only so its `join` can be answered with the
 * guide's auth error. Without bounds, 10,000 token-less sockets filled
 * `server.max_connections` and locked valid clients out. So:
 *
 * - every socket without a joined channel is closed (1008 request_timeout)
 *   when it has not joined within `websocket.join_timeout`, also after a
 *   `phx_leave` makes it channel-less again;
 * - sockets whose upgrade failed authentication have their own cap,
 *   `websocket.max_unauthenticated_sockets`, far below
 *   `server.max_connections`: past it such upgrades are refused before the
 *   handshake with their auth error (401 + WWW-Authenticate), so they never
 *   hold a slot; authenticated clients are unaffected.
 */
export interface UnjoinedLimits {
  /** websocket.join_timeout (ms). */
  joinTimeout: number;
  /** websocket.max_unauthenticated_sockets. */
  maxUnauthenticated: number;
}

/** Channel-less Phoenix sockets, each with its join deadline; the unauthenticated ones counted apart. */
export class UnjoinedSockets<K extends object> {
  readonly #timers = new Map<K, NodeJS.Timeout>();
  readonly #unauthenticated = new Set<K>();

  constructor(readonly limits: () => UnjoinedLimits) {}

  /** Sockets now waiting for a join. */
  get size(): number {
    return this.#timers.size;
  }

  /** Unauthenticated sockets now open. */
  get unauthenticated(): number {
    return this.#unauthenticated.size;
  }

  /** True when one more unauthenticated socket would pass its cap (its upgrade is refused). */
  unauthenticatedFull(): boolean {
    return this.#unauthenticated.size >= this.limits().maxUnauthenticated;
  }

  /** `socket` has no channel (opened, or left): `expire` runs unless it joins within the deadline. */
  wait(socket: K, authenticated: boolean, expire: () => void): void {
    clearTimeout(this.#timers.get(socket));
    if (!authenticated) this.#unauthenticated.add(socket);
    const timer = setTimeout(() => {
      this.#timers.delete(socket);
      expire();
    }, this.limits().joinTimeout);
    timer.unref();
    this.#timers.set(socket, timer);
  }

  /** `socket` joined: it no longer waits. */
  joined(socket: K): void {
    clearTimeout(this.#timers.get(socket));
    this.#timers.delete(socket);
  }

  /** `socket` closed: forgotten. */
  closed(socket: K): void {
    this.joined(socket);
    this.#unauthenticated.delete(socket);
  }
}
