import type { CallEvent } from "../telemetry/channels.js";
import type { TelemetrySink } from "../telemetry/hub.js";

/** Latency samples kept per key and tick: past it, a reservoir keeps a fair sample (bounded memory under load). */
const MAX_SAMPLES = 2048;

class Bucket {
  calls = 0;
  failed = 0;
  readonly samples: number[] = [];
  add(ms: number, ok: boolean): void {
    this.calls++;
    if (!ok) this.failed++;
    if (this.samples.length < MAX_SAMPLES) this.samples.push(ms);
    else {
      const j = Math.floor(Math.random() * this.calls);
      if (j < MAX_SAMPLES) this.samples[j] = ms;
    }
  }
}

/** One tick's figures of one upstream or transport. */
export interface CallFigures {
  calls: number;
  failed: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Calls per upstream and per client transport, one bucket per sample tick:
 * a hub sink added only while a console is open (the hub delivers each call
 * event already attributed to this gateway). `take()` hands over the tick's
 * figures and starts the next one.
 */
export class CallStats implements TelemetrySink {
  #upstreams = new Map<string, Bucket>();
  #transports = new Map<string, Bucket>();

  constructor(private readonly transportOf: (sessionId: string | undefined) => string | undefined) {}

  call(e: CallEvent): void {
    const ms = e.durationMs;
    let u = this.#upstreams.get(e.upstream);
    if (!u) this.#upstreams.set(e.upstream, (u = new Bucket()));
    u.add(ms, e.ok);
    const t = this.transportOf(e.sessionId);
    if (t === undefined) return;
    let b = this.#transports.get(t);
    if (!b) this.#transports.set(t, (b = new Bucket()));
    b.add(ms, e.ok);
  }

  /** The figures since the previous take, by upstream and by transport. */
  take(): { upstreams: Map<string, CallFigures>; transports: Map<string, CallFigures> } {
    const figures = (m: Map<string, Bucket>) =>
      new Map(
        [...m].map(([k, b]) => {
          const s = b.samples.sort((x, y) => x - y);
          return [k, { calls: b.calls, failed: b.failed, p50_ms: quantile(s, 0.5), p99_ms: quantile(s, 0.99) }];
        }),
      );
    const out = { upstreams: figures(this.#upstreams), transports: figures(this.#transports) };
    this.#upstreams = new Map();
    this.#transports = new Map();
    return out;
  }
}
