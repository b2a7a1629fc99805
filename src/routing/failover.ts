import { channels, log, type FailoverEvent } from "../telemetry/channels.js";

/** The flap-damping part of `routing` (read through a getter: runtime changes apply). */
export interface FlapPolicy {
  /** Failovers allowed within flap_window; one more holds the target down. */
  flap_limit: number;
  /** Window of flap detection (ms). */
  flap_window: number;
  /** First hold-down (ms); each further trip doubles it, up to 16x. */
  flap_hold_down: number;
}

/** One damped target: a replica id, or `<client>@<upstream>`. */
interface FlapRecord {
  target: string;
  upstream: string;
  clientId?: string;
  /** Failover times within the window, oldest first. */
  events: number[];
  heldUntil: number;
  /** How many times it tripped (drives the doubling); decays after a quiet spell. */
  level: number;
  holdMs: number;
  lastEvent: number;
}

/** The guide's "check oscillation" answer for one target. */
export interface OscillationInfo {
  target: string;
  failovers: number;
  window_ms: number;
  held_until: string | null;
  hold_down_ms: number;
}

/** Longest hold-down, as a multiple of flap_hold_down. */
const MAX_HOLD_FACTOR = 16;

/**
 * Flap damping (route-flap damping as in BGP, simplified): every failover of a
 * target is recorded; more than `flap_limit` within `flap_window` holds the
 * target down (a replica is kept out of routing, a client is pinned where it
 * is) for `flap_hold_down`, doubling on each repeat trip. The level decays
 * once the target stays quiet for a window after its hold ends, so an old
 * incident does not punish a healthy target forever.
 */
export class FlapDamper {
  readonly #records = new Map<string, FlapRecord>();

  constructor(readonly policy: () => FlapPolicy) {}

  /**
   * Records one failover of `target`. Returns the hold-down now in force (ms)
   * when this event tripped the damper, else 0.
   */
  record(target: string, upstream: string, now = Date.now(), clientId?: string, label = clientId !== undefined ? "client" : "replica"): number {
    const p = this.policy();
    let r = this.#records.get(target);
    if (!r) {
      r = { target, upstream, events: [], heldUntil: 0, level: 0, holdMs: 0, lastEvent: now };
      if (clientId !== undefined) r.clientId = clientId;
      this.#records.set(target, r);
    }
    this.#decay(r, now, p);
    r.lastEvent = now;
    r.events.push(now);
    while (r.events.length > 0 && r.events[0]! <= now - p.flap_window) r.events.shift();
    if (r.events.length <= p.flap_limit || r.heldUntil > now) return 0;
    r.level++;
    r.holdMs = Math.min(p.flap_hold_down * 2 ** (r.level - 1), p.flap_hold_down * MAX_HOLD_FACTOR);
    r.heldUntil = now + r.holdMs;
    const failovers = r.events.length;
    r.events = [];
    log("warn", "MCP.Routing", `${label} ${target} is flapping: ${failovers} failovers within ${p.flap_window} ms; held for ${r.holdMs} ms`, { upstream, clientId });
    if (channels.failover.hasSubscribers) {
      const event: FailoverEvent = { type: "flapping", upstream, target, hold_down_ms: r.holdMs, failovers };
      if (clientId !== undefined) event.clientId = clientId;
      channels.failover.publish(event);
    }
    return r.holdMs;
  }

  /** True while `target` is held down. */
  isHeld(target: string, now = Date.now()): boolean {
    const r = this.#records.get(target);
    return r !== undefined && r.heldUntil > now;
  }

  /** Ends a hold now (operator reset) and forgets the history. */
  release(target: string): boolean {
    const r = this.#records.get(target);
    if (!r) return false;
    this.#records.delete(target);
    if (r.heldUntil > Date.now() && channels.failover.hasSubscribers) {
      channels.failover.publish({ type: "hold_released", upstream: r.upstream, target } satisfies FailoverEvent);
    }
    return true;
  }

  /** Releases every record whose target matches. */
  releaseWhere(match: (target: string, upstream: string) => boolean): string[] {
    const released: string[] = [];
    for (const r of [...this.#records.values()]) if (match(r.target, r.upstream) && this.release(r.target)) released.push(r.target);
    return released;
  }

  /** Drops records quiet for long (bounded memory with many clients). */
  prune(now = Date.now()): void {
    const p = this.policy();
    for (const [key, r] of this.#records) {
      this.#decay(r, now, p);
      if (r.level === 0 && r.heldUntil <= now && r.lastEvent <= now - p.flap_window) this.#records.delete(key);
    }
  }

  /** Targets with failovers in the window or a hold (optionally one client's only). */
  report(clientId?: string, now = Date.now()): OscillationInfo[] {
    const p = this.policy();
    const out: OscillationInfo[] = [];
    for (const r of this.#records.values()) {
      if (clientId !== undefined && r.clientId !== clientId) continue;
      const recent = r.events.filter((t) => t > now - p.flap_window).length;
      const held = r.heldUntil > now;
      if (!held && recent === 0 && r.level === 0) continue;
      out.push({ target: r.target, failovers: recent, window_ms: p.flap_window, held_until: held ? new Date(r.heldUntil).toISOString() : null, hold_down_ms: held ? r.holdMs : 0 });
    }
    return out;
  }

  #decay(r: FlapRecord, now: number, p: FlapPolicy): void {
    if (r.level > 0 && r.heldUntil <= now && r.lastEvent <= Math.max(r.heldUntil, now - p.flap_window) && now - r.heldUntil >= p.flap_window) {
      r.level = 0;
      r.holdMs = 0;
    }
  }
}
