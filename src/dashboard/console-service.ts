import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import type { Gateway } from "../gateway.js";
import type { Operations } from "../admin/operations.js";
import type { TelemetryHub } from "../telemetry/hub.js";
import { EventLoopWindow } from "../admin/event-loop.js";
import { SeriesStore } from "./series.js";
import { CallStats, type CallFigures } from "./call-stats.js";
import { BreakerHistory } from "./breaker-history.js";
import { LogTail } from "./log-tail.js";
import { upstreamsState } from "./console-state.js";
import { dashboardSnapshot } from "./snapshot.js";

/** One sample a second: the history is 900 of them (15 minutes). */
export const SAMPLE_MS = 1000;
/** The catalogue is compared (and resent when it changed) every this many ticks. */
const CATALOGUE_EVERY = 5;

interface Viewer {
  res: ServerResponse;
  /** The socket buffer is full (a slow browser): ticks are skipped until it drains, never queued. */
  blocked: boolean;
}

/**
 * The live console's server side: one sampler for every open console. While
 * at least one is open, a 1 s timer samples the figures into the 15-minute
 * ring buffers, a hub sink counts calls, the log tail listens, and each tick
 * is serialised once and written to every open stream. When the last one
 * closes, all of that stops: with no console open it does no work at all
 * (the breaker history, a few events an hour, is the one thing kept always).
 */
export class ConsoleService {
  readonly series = new SeriesStore(900);
  readonly history = new BreakerHistory();
  readonly #viewers = new Set<Viewer>();
  readonly #calls: CallStats;
  readonly #logs: LogTail;
  #timer?: NodeJS.Timeout;
  #loop?: EventLoopWindow;
  #latency = new Map<string, CallFigures>();
  #ticks = 0;
  /** What the last ticks cost this process (ms of wall time in #tick, sampling and serialising): shown in the state frame. */
  #tickMs = 0;
  #catalogueJson = "";

  constructor(
    private readonly gateway: Gateway,
    private readonly ops: Operations,
    private readonly hub: TelemetryHub,
  ) {
    hub.add(this.history);
    // Legacy sessions know their transport; modern (2026-07-28) callers have no session and all arrive over Streamable HTTP.
    this.#calls = new CallStats((id) => (id === undefined ? undefined : (gateway.registry.get(id)?.transport ?? (gateway.context.modern?.ownsCaller(id) ? "streamable_http" : undefined))));
    this.#logs = new LogTail(gateway.config);
  }

  /** Open consoles. */
  get viewers(): number {
    return this.#viewers.size;
  }

  /** Whether the sampler runs (true exactly while a console is open). */
  get sampling(): boolean {
    return this.#timer !== undefined;
  }

  /** Adds an open stream: sends it the history and current state, starts sampling if it is the first. */
  open(res: ServerResponse): () => void {
    const viewer: Viewer = { res, blocked: false };
    if (this.#viewers.size === 0) this.#start();
    this.#viewers.add(viewer);
    res.on("drain", () => (viewer.blocked = false));
    const cfg = this.gateway.config.current;
    this.#write(viewer, "hello", JSON.stringify({
      sample_ms: SAMPLE_MS,
      capacity: this.series.capacity,
      history: this.series.snapshot(),
      lag_threshold_ms: cfg.backpressure.lag_threshold,
      profile: cfg.profile,
      logs: this.#logs.recent(),
      catalogue: this.gateway.catalog.byUpstream(),
    }));
    this.#write(viewer, "stats", JSON.stringify(dashboardSnapshot(this.gateway, this.ops)));
    this.#write(viewer, "state", JSON.stringify(this.#state(Date.now())));
    return () => {
      if (!this.#viewers.delete(viewer)) return;
      if (this.#viewers.size === 0) this.#stop();
    };
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const v of [...this.#viewers]) v.res.end();
    this.#viewers.clear();
    this.#stop();
  }

  #start(): void {
    this.hub.add(this.#calls);
    this.#calls.take();
    this.#logs.start();
    this.#loop = new EventLoopWindow();
    this.#timer = setInterval(() => this.#tick(), SAMPLE_MS);
    this.#timer.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.hub.remove(this.#calls);
    this.#logs.stop();
    this.#loop?.stop();
    this.#loop = undefined;
  }

  #tick(): void {
    const started = performance.now();
    const now = Date.now();
    const values = this.#sample(now);
    this.series.push(now, values);
    const frames = [
      ["tick", JSON.stringify({ t: now / 1000, values })],
      ["stats", JSON.stringify(dashboardSnapshot(this.gateway, this.ops))],
      ["state", JSON.stringify(this.#state(now))],
    ];
    const lines = this.#logs.take();
    if (lines.length) frames.push(["logs", JSON.stringify(lines)]);
    if (++this.#ticks % CATALOGUE_EVERY === 0) {
      const catalogue = JSON.stringify(this.gateway.catalog.byUpstream());
      if (catalogue !== this.#catalogueJson) frames.push(["catalogue", catalogue]);
      this.#catalogueJson = catalogue;
    }
    for (const v of this.#viewers) for (const [event, data] of frames) this.#write(v, event!, data!);
    this.#tickMs = performance.now() - started;
  }

  #write(v: Viewer, event: string, data: string): void {
    if (v.blocked || v.res.writableEnded) return;
    if (!v.res.write(`event: ${event}\ndata: ${data}\n\n`)) v.blocked = true;
  }

  /** One point of every series (names: `<chart>:<line>`; the page groups lines by chart). */
  #sample(now: number): Record<string, number> {
    const out: Record<string, number> = {};
    const secs = SAMPLE_MS / 1000;
    const { upstreams, transports } = this.#calls.take();
    this.#latency = upstreams;
    for (const g of this.gateway.manager.groups.keys()) {
      const f = upstreams.get(g);
      out[`calls_upstream:${g}`] = (f?.calls ?? 0) / secs;
      out[`failed_upstream:${g}`] = f && f.calls ? f.failed / f.calls : 0;
      if (f?.p50_ms != null) out[`p50_upstream:${g}`] = f.p50_ms;
      if (f?.p99_ms != null) out[`p99_upstream:${g}`] = f.p99_ms;
    }
    const stats = this.ops.connectionStats(now);
    // Every client transport has a calls line (0 when idle); latency only where calls happened.
    for (const t of Object.keys(stats.by_transport)) out[`calls_transport:${t}`] = 0;
    for (const [t, f] of transports) {
      out[`calls_transport:${t}`] = f.calls / secs;
      if (f.p50_ms != null) out[`p50_transport:${t}`] = f.p50_ms;
      if (f.p99_ms != null) out[`p99_transport:${t}`] = f.p99_ms;
    }
    out["error_rate:all"] = stats.error_rate;
    for (const [t, n] of Object.entries(stats.by_transport)) out[`connections:${t}`] = n;
    out["lag:max"] = stats.max_message_lag_ms;
    out["age:avg"] = stats.avg_connection_age;
    const breakers = this.gateway.resilience?.breakerStates() ?? [];
    out["breakers:open"] = breakers.filter((b) => b.state === "open").length;
    out["breakers:half_open"] = breakers.filter((b) => b.state === "half_open").length;
    for (const p of this.gateway.resilience?.healthCheck().upstreams ?? []) out[`pool:${p.upstream}`] = p.exhaustion_ratio;
    const loop = this.#loop!.report();
    out["loop:p99"] = loop.delay_p99_ms;
    out["loop:max"] = loop.delay_max_ms;
    const m = process.memoryUsage();
    const heap = getHeapStatistics();
    out["heap:used"] = heap.used_heap_size / heap.heap_size_limit;
    out["memory:heap_mb"] = m.heapUsed / 1048576;
    out["memory:rss_mb"] = m.rss / 1048576;
    return out;
  }

  #state(now: number) {
    return { at: new Date(now).toISOString(), viewers: this.#viewers.size, tick_ms: Math.round(this.#tickMs * 100) / 100, logging: this.ops.loggingSwitches(), ...upstreamsState(this.gateway, this.#latency, this.history) };
  }
}
