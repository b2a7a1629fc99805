import type { WebSocket } from "ws";

/** Heartbeat settings (the `websocket` config section's keys, ms; 0 disables). */
export interface HeartbeatSettings {
  ping_interval: number;
  pong_timeout: number;
  idle_timeout: number;
}

/** Why the sweeper gave up on a peer. */
export type DeadReason = "pong_timeout" | "idle_timeout";

/**
 * Liveness of one socket. The listener sets `seen` on every inbound frame
 * (a boolean store, no clock read on the hot path); the sweeper turns it
 * into a timestamp at its next tick.
 */
export interface Liveness {
  seen: boolean;
  lastSeen: number;
  /** When the outstanding ping went out (0: none outstanding). */
  pingAt: number;
  readonly ws: WebSocket;
  /** Called with the socket: listeners pass one shared function, not a closure per socket (ADR 0200). */
  readonly onDead: (reason: DeadReason, ws: WebSocket) => void;
}

/** Where a socket's liveness record hangs, so its pong/ping listener can be one shared function. */
const LIVENESS = Symbol("mcp-gateway.liveness");
type Watched = WebSocket & { [LIVENESS]?: Liveness };

/** Pongs (and client pings) are rare: stamp them exactly. `this` is the socket (EventEmitter calls listeners so). */
function markAlive(this: Watched): void {
  const live = this[LIVENESS];
  if (live === undefined) return;
  live.lastSeen = Date.now();
  live.pingAt = 0;
}

/**
 * One timer per listener sweeps every socket (a timer per socket would cost
 * a closure and a timer handle per connection). A peer silent for
 * `ping_interval` gets a ping; one that does not answer within
 * `pong_timeout` is terminated, so a dead peer goes within
 * ping_interval + pong_timeout of its last sign of life. The tick is a
 * fraction of the smaller setting and each deadline fires on the last tick
 * before it, never after. `idle_timeout` is the backstop when pings are
 * off: a peer that answers pings is alive and is kept however idle it is.
 */
export class HeartbeatSweeper {
  readonly #sockets = new Set<Liveness>();
  #timer?: NodeJS.Timeout;
  #stopped = false;

  constructor(readonly settings: () => HeartbeatSettings) {}

  /** Starts watching a socket; returns the liveness record the listener marks. */
  track(ws: WebSocket, onDead: (reason: DeadReason, ws: WebSocket) => void): Liveness {
    const live: Liveness = { seen: false, lastSeen: Date.now(), pingAt: 0, ws, onDead };
    this.#sockets.add(live);
    (ws as Watched)[LIVENESS] = live;
    ws.on("pong", markAlive);
    ws.on("ping", markAlive);
    this.#arm();
    return live;
  }

  /** The sockets watched (open ones: a socket is untracked when it closes). Shutdown closes them (ws keeps no list of its own: ADR 0200). */
  *sockets(): IterableIterator<WebSocket> {
    for (const live of this.#sockets) yield live.ws;
  }

  /** Stops watching a socket (it closed). */
  untrack(live: Liveness): void {
    this.#sockets.delete(live);
  }

  /** Sockets watched. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Stops the timer for good (gateway shutdown). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The sweep period for these settings (ms). */
  static tickFor(s: HeartbeatSettings): number {
    const parts = [s.ping_interval, s.pong_timeout, s.idle_timeout].filter((n) => n > 0);
    if (parts.length === 0) return 0;
    return Math.min(1000, Math.max(5, Math.floor(Math.min(...parts) / 8)));
  }

  #arm(): void {
    if (this.#timer || this.#stopped || this.#sockets.size === 0) return;
    const tick = HeartbeatSweeper.tickFor(this.settings());
    if (tick === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.sweep(Date.now(), tick);
      this.#arm();
    }, tick);
    this.#timer.unref();
  }

  /** One pass over every socket (exposed for tests). */
  sweep(now: number, tick = HeartbeatSweeper.tickFor(this.settings())): void {
    const { ping_interval: ping, pong_timeout: pong, idle_timeout: idle } = this.settings();
    for (const live of this.#sockets) {
      if (live.seen) {
        live.seen = false;
        live.lastSeen = now;
        live.pingAt = 0;
      }
      if (live.ws.readyState !== 1) continue;
      // Deadlines fire on the last tick before they pass (now + tick > deadline).
      if (ping > 0 && live.pingAt > 0) {
        if (now + tick > live.pingAt + pong) this.#dead(live, "pong_timeout");
        continue;
      }
      if (idle > 0 && now + tick > live.lastSeen + idle && (ping === 0 || idle < ping)) {
        this.#dead(live, "idle_timeout");
        continue;
      }
      if (ping > 0 && now + tick > live.lastSeen + ping) {
        live.pingAt = now;
        try {
          live.ws.ping();
        } catch {
          this.#dead(live, "pong_timeout");
        }
      }
    }
  }

  #dead(live: Liveness, reason: DeadReason): void {
    this.#sockets.delete(live);
    live.onDead(reason, live.ws);
  }
}
