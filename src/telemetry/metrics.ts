import { Counter, Gauge, Registry, collectDefaultMetrics } from "./prom.js";
import type { BreakerInfo, BreakerState } from "../admin/services.js";
import type { CallEvent, ClientEvent, ConnectionEvent, ErrorEvent, MessageEvent } from "./channels.js";
import type { TelemetrySink } from "./hub.js";
import { CallSeries } from "./call-series.js";

/** Live figures the gauges read at scrape time (nothing is polled between scrapes). */
export interface MetricsSources {
  /** Open client connections by transport. */
  connectionsByTransport(): Record<string, number>;
  sessions(): number;
  /** Pool usage in_use / (size + overflow), or undefined without pools. */
  poolUsage(): { total: number; upstreams: Array<{ upstream: string; ratio: number; in_use: number; waiting: number; timeouts: number }> } | undefined;
  breakers(): BreakerInfo[] | undefined;
  /** Ready replicas and total per upstream; whether its lists are stale (routing.list_timeout) and how often they went stale. */
  upstreams(): Array<{ upstream: string; ready: number; total: number; listStale?: boolean; listTimeouts?: number }>;
  /** Largest message lag of any session (s). */
  maxLagSeconds(): number;
  /** Mean age of open connections (s). */
  avgConnectionAgeSeconds(): number;
  /** Cluster mode (src/cluster/): this node's view; undefined on a single node (the cluster series are then absent). */
  cluster?(): { node: string; redis_up: boolean; nodes: number; counters: Record<string, number> } | undefined;
}

/** The guide's breaker encoding: 1 closed, 0.5 half-open, 0 open. */
export function breakerValue(state: BreakerState): number {
  return state === "closed" ? 1 : state === "half_open" ? 0.5 : 0;
}

/**
 * The gateway's Prometheus metrics, one Registry per gateway (tests run
 * several gateways in one process). Counters are fed by the TelemetryHub;
 * gauges are computed at scrape time from MetricsSources.
 */
export class GatewayMetrics implements TelemetrySink {
  readonly registry = new Registry();
  readonly #connections: Counter<"transport">;
  readonly #messages: Counter<"direction">;
  readonly #bytes: Counter<"direction">;
  readonly #errors: Counter<"type" | "code">;
  /** gateway_request_duration_seconds and gateway_requests_total: written on every call, so plain numbers (call-series.ts). */
  readonly #calls: CallSeries;
  readonly #rateLimited: Counter<"transport">;
  readonly #backpressure: Counter<"level">;
  readonly #closes: Counter<"transport" | "code">;
  readonly #switches: Counter<"from" | "to">;
  readonly #perMessage = { inbound: 0, outbound: 0, inboundBytes: 0, outboundBytes: 0 };
  readonly #poolTimeouts: Counter<"upstream">;
  readonly #breakerTransitions: Counter<"kind" | "target" | "to">;
  readonly #failovers: Counter<"upstream" | "type">;

  constructor(sources: MetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#connections = new Counter({ name: "gateway_connections_total", help: "Client connections accepted, by transport", labelNames: ["transport"], registers });
    new Gauge({
      name: "gateway_connections_active", help: "Open client connections, by transport", labelNames: ["transport"], registers,
      collect() {
        this.reset();
        for (const [t, n] of Object.entries(sources.connectionsByTransport())) this.set({ transport: t }, n);
      },
    });
    new Gauge({ name: "gateway_sessions", help: "Live sessions (with or without a connection)", registers, collect() { this.set(sources.sessions()); } });
    const perMessage = this.#perMessage;
    this.#messages = new Counter({
      name: "gateway_messages_total", help: "JSON-RPC messages relayed, by direction (inbound: from clients)", labelNames: ["direction"], registers,
      collect() {
        this.reset();
        this.inc({ direction: "inbound" }, perMessage.inbound);
        this.inc({ direction: "outbound" }, perMessage.outbound);
      },
    });
    this.#bytes = new Counter({
      name: "gateway_message_bytes_total", help: "Bytes of JSON-RPC messages relayed, by direction", labelNames: ["direction"], registers,
      collect() {
        this.reset();
        this.inc({ direction: "inbound" }, perMessage.inboundBytes);
        this.inc({ direction: "outbound" }, perMessage.outboundBytes);
      },
    });
    this.#errors = new Counter({ name: "gateway_errors_total", help: "Errors by type (request, connection, upstream, ...) and catalogue code", labelNames: ["type", "code"], registers });
    this.#closes = new Counter({ name: "gateway_connection_closes_total", help: "Client connections closed, by transport and close code", labelNames: ["transport", "code"], registers });
    this.#calls = new CallSeries(this.registry, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.#rateLimited = new Counter({ name: "gateway_rate_limited_total", help: "Requests refused with rate_limit_exceeded", labelNames: ["transport"], registers });
    this.#backpressure = new Counter({ name: "gateway_backpressure_events_total", help: "Backpressure actions by level (medium, high, lagging, dropped)", labelNames: ["level"], registers });
    this.#switches = new Counter({ name: "gateway_transport_switches_total", help: "Sessions that moved to another transport", labelNames: ["from", "to"], registers });
    this.#poolTimeouts = new Counter({ name: "gateway_pool_timeouts_total", help: "Checkouts that failed with pool_timeout, per upstream", labelNames: ["upstream"], registers });
    this.#breakerTransitions = new Counter({ name: "gateway_circuit_breaker_transitions_total", help: "Breaker state changes by kind, target and new state", labelNames: ["kind", "target", "to"], registers });
    this.#failovers = new Counter({ name: "gateway_failovers_total", help: "Routing changes (failover, failback, flapping) per upstream", labelNames: ["upstream", "type"], registers });
    new Gauge({
      name: "gateway_pool_usage_ratio", help: "Upstream pool usage: in use / (size + overflow), all upstreams", registers,
      collect() {
        const p = sources.poolUsage();
        this.set(p?.total ?? 0);
      },
    });
    new Gauge({
      name: "gateway_pool_upstream_usage_ratio", help: "Upstream pool usage per upstream", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.poolUsage()?.upstreams ?? []) this.set({ upstream: u.upstream }, u.ratio);
      },
    });
    new Gauge({
      name: "gateway_pool_waiting", help: "Requests waiting for a pool lease, per upstream", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.poolUsage()?.upstreams ?? []) this.set({ upstream: u.upstream }, u.waiting);
      },
    });
    new Gauge({
      name: "gateway_circuit_breaker_state", help: "Client transport breaker: 1 closed, 0.5 half-open, 0 open", labelNames: ["transport"], registers,
      collect() {
        this.reset();
        for (const b of sources.breakers() ?? []) if (b.kind === "transport") this.set({ transport: b.target }, breakerValue(b.state));
      },
    });
    new Gauge({
      name: "gateway_upstream_circuit_breaker_state", help: "Upstream breaker: 1 closed, 0.5 half-open, 0 open", labelNames: ["target"], registers,
      collect() {
        this.reset();
        for (const b of sources.breakers() ?? []) if (b.kind === "upstream") this.set({ target: b.target }, breakerValue(b.state));
      },
    });
    new Gauge({
      name: "gateway_upstream_ready_replicas", help: "Ready replicas per upstream", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.upstreams()) this.set({ upstream: u.upstream }, u.ready);
      },
    });
    new Gauge({
      name: "gateway_upstream_list_stale", help: "1 while an upstream's lists are stale (a refresh ran past routing.list_timeout or failed): its last good lists are served", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.upstreams()) this.set({ upstream: u.upstream }, u.listStale ? 1 : 0);
      },
    });
    new Counter({
      name: "gateway_upstream_list_timeouts_total", help: "Times an upstream's lists went stale (no answer within routing.list_timeout, or a failed refresh)", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.upstreams()) this.inc({ upstream: u.upstream }, u.listTimeouts ?? 0);
      },
    });
    new Gauge({
      name: "gateway_upstream_replicas", help: "Configured replicas per upstream", labelNames: ["upstream"], registers,
      collect() {
        this.reset();
        for (const u of sources.upstreams()) this.set({ upstream: u.upstream }, u.total);
      },
    });
    new Gauge({ name: "gateway_message_lag_seconds", help: "Largest time any session has waited for its client's acknowledgement", registers, collect() { this.set(sources.maxLagSeconds()); } });
    new Gauge({ name: "gateway_avg_connection_age_seconds", help: "Mean age of open client connections", registers, collect() { this.set(sources.avgConnectionAgeSeconds()); } });
    // Cluster mode (docs/cluster.md): Redis reachability, nodes seen, and forwards/takeovers/dropped writes.
    new Gauge({
      name: "gateway_cluster_redis_up", help: "Cluster mode: 1 while this node reaches Redis, 0 while it serves from local state only", labelNames: ["node"], registers,
      collect() {
        this.reset();
        const c = sources.cluster?.();
        if (c) this.set({ node: c.node }, c.redis_up ? 1 : 0);
      },
    });
    new Gauge({
      name: "gateway_cluster_nodes", help: "Cluster mode: live gateway nodes this node sees (itself included)", labelNames: ["node"], registers,
      collect() {
        this.reset();
        const c = sources.cluster?.();
        if (c) this.set({ node: c.node }, c.nodes);
      },
    });
    new Counter({
      name: "gateway_cluster_events_total", help: "Cluster mode: requests forwarded / served for peers, sessions taken over / released, event-log writes dropped", labelNames: ["node", "type"], registers,
      collect() {
        this.reset();
        const c = sources.cluster?.();
        if (c) for (const [type, n] of Object.entries(c.counters)) this.inc({ node: c.node, type }, n);
      },
    });
    // The guide's series exist from the first scrape (alerts and dashboards need a 0, not a gap).
    for (const transport of ["websocket", "http_sse", "streamable_http"]) this.#connections.inc({ transport }, 0);
    this.#errors.inc({ type: "connection", code: "close_1006" }, 0);
    this.#rateLimited.inc({ transport: "websocket" }, 0);
    if (options.defaultMetrics !== false) collectDefaultMetrics(this.registry);
  }

  connection(e: ConnectionEvent): void {
    if (e.type === "connected") this.#connections.inc({ transport: e.transport });
    else {
      const code = e.closeCode === undefined ? "none" : String(e.closeCode);
      this.#closes.inc({ transport: e.transport, code });
      if (e.closeCode !== undefined && e.closeCode !== 1000 && e.closeCode !== 1001 && e.closeCode !== 1005) this.#errors.inc({ type: "connection", code: `close_${e.closeCode}` });
    }
  }

  message(e: MessageEvent): void {
    // Per-message path: plain numbers here, handed to prom-client at scrape time (collect below).
    const c = this.#perMessage;
    if (e.direction === "inbound") {
      c.inbound++;
      c.inboundBytes += e.size;
    } else {
      c.outbound++;
      c.outboundBytes += e.size;
    }
  }

  call(e: CallEvent): void {
    this.#calls.observe(e.method, e.upstream, e.durationMs / 1000, e.ok);
  }

  error(e: ErrorEvent): void {
    this.#errors.inc({ type: e.type, code: e.code });
    if (e.code === "rate_limit_exceeded") this.#rateLimited.inc({ transport: e.transport ?? "unknown" });
  }

  client(e: ClientEvent): void {
    if (e.type === "throttled") this.#backpressure.inc({ level: String(e.level ?? "unknown") });
    else if (e.type === "backpressure_dropped" || e.type === "dropped") this.#backpressure.inc({ level: "dropped" });
    else if (e.type === "transport_switch") this.#switches.inc({ from: String(e.from ?? "unknown"), to: String(e.to ?? "unknown") });
  }

  pool(e: { type: string; upstream: string }): void {
    if (e.type === "timeout") this.#poolTimeouts.inc({ upstream: e.upstream });
  }

  breaker(e: { target: string; kind: string; to: string }): void {
    this.#breakerTransitions.inc({ kind: e.kind, target: e.target, to: e.to });
  }

  failover(e: { type: string; upstream: string }): void {
    this.#failovers.inc({ upstream: e.upstream, type: e.type });
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
