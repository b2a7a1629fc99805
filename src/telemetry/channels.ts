import diagnostics_channel from "node:diagnostics_channel";

/**
 * The gateway's diagnostics channels. Core code publishes plain objects here
 * and never imports a logger or metrics library; telemetry/ subscribes.
 * Publishers check `hasSubscribers` before building an event so an
 * unobserved channel costs nothing on the hot path.
 */
export const channels = {
  /** A client connection opened or closed: ConnectionEvent. */
  connection: diagnostics_channel.channel("mcp-gateway:connection"),
  /** One message relayed: MessageEvent. */
  message: diagnostics_channel.channel("mcp-gateway:message"),
  /** A request finished (latency): CallEvent. */
  call: diagnostics_channel.channel("mcp-gateway:call"),
  /** A failure reported to a client or seen upstream: ErrorEvent. */
  error: diagnostics_channel.channel("mcp-gateway:error"),
  /** Upstream lifecycle (started, exited, restarted, stderr line): UpstreamEvent. */
  upstream: diagnostics_channel.channel("mcp-gateway:upstream"),
  /** Client-level events for traces (transport_switch, rate_limited, throttled, ...): ClientEvent. */
  client: diagnostics_channel.channel("mcp-gateway:client"),
  /** Free-form log lines from core code: LogEvent. */
  log: diagnostics_channel.channel("mcp-gateway:log"),
  /** A circuit breaker changed state: BreakerEvent (src/upstream/circuit-breaker.ts). */
  breaker: diagnostics_channel.channel("mcp-gateway:breaker"),
  /** Pool lease events (timeout, exhausted, resized, cleared, idle_closed): PoolEvent. */
  pool: diagnostics_channel.channel("mcp-gateway:pool"),
  /** Routing changes (failover, failback, flapping, hold_released): FailoverEvent. */
  failover: diagnostics_channel.channel("mcp-gateway:failover"),
  /** Cluster mode (src/cluster/): Redis up/down, nodes joining/leaving, takeovers, forwards: ClusterEvent. */
  cluster: diagnostics_channel.channel("mcp-gateway:cluster"),
} as const;

/** Transports a client can use. */
export type ClientTransportKind = "streamable_http" | "http_sse" | "websocket" | "phoenix";

export interface ConnectionEvent {
  type: "connected" | "disconnected";
  clientId: string;
  sessionId: string;
  transport: ClientTransportKind;
  /** WebSocket close code (1006 when the peer vanished without a close frame). */
  closeCode?: number;
  reason?: string;
  remote?: string;
}

export interface MessageEvent {
  direction: "inbound" | "outbound";
  clientId: string;
  sessionId: string;
  transport: ClientTransportKind;
  method?: string;
  size: number;
}

export interface CallEvent {
  method: string;
  upstream: string;
  /** The replica that answered (`<upstream>#<n>`), when known. */
  replica?: string;
  clientId: string;
  /** The caller's session (debug taps follow one session). */
  sessionId?: string;
  durationMs: number;
  ok: boolean;
}

export interface ErrorEvent {
  type: string;
  code: string;
  message: string;
  clientId?: string;
  transport?: ClientTransportKind;
  upstream?: string;
}

export interface UpstreamEvent {
  type: "started" | "exited" | "restarting" | "stderr" | "initialized" | "failed";
  upstream: string;
  replica?: string;
  detail?: string;
}

export interface ClientEvent {
  type: string;
  clientId: string;
  sessionId?: string;
  [key: string]: unknown;
}

export interface LogEvent {
  level: "debug" | "info" | "warn" | "error";
  component: string;
  msg: string;
  clientId?: string;
  [key: string]: unknown;
}

/** Publishes a log line from core code (no-op when nobody listens). */
export function log(level: LogEvent["level"], component: string, msg: string, extra?: Record<string, unknown>): void {
  if (channels.log.hasSubscribers) channels.log.publish({ level, component, msg, ...extra });
}

/** Pool events (src/upstream/pool.ts). */
export interface PoolEvent {
  type: "timeout" | "exhausted" | "resized" | "cleared" | "idle_closed";
  upstream: string;
  in_use?: number;
  waiting?: number;
  size?: number;
  overflow?: number;
  detail?: string;
}

/** Routing events (src/upstream/resilience.ts, src/routing/failover.ts). */
export interface FailoverEvent {
  type: "failover" | "failback" | "flapping" | "hold_released" | "resubscribed";
  upstream: string;
  /** The replica (or `<client>@<upstream>` for client-level flapping) concerned. */
  target: string;
  from?: string;
  to?: string;
  clientId?: string;
  hold_down_ms?: number;
  failovers?: number;
  detail?: string;
}

/** Cluster events (src/cluster/). */
export interface ClusterEvent {
  type: "redis_down" | "redis_up" | "node_joined" | "node_left" | "takeover" | "released" | "forwarded" | "writes_dropped" | "peer_breaker_open" | "remote_command";
  /** This node. */
  node: string;
  /** The other node concerned (owner, peer), when there is one. */
  peer?: string;
  sessionId?: string;
  /** How many (forwards, dropped writes). */
  count?: number;
  detail?: string;
}
