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
  clientId: string;
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
