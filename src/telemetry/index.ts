export { channels, log, type ClientTransportKind, type ConnectionEvent, type MessageEvent, type CallEvent, type ErrorEvent, type UpstreamEvent, type ClientEvent, type LogEvent } from "./channels.js";
export { createLogger, type LoggingHandle } from "./logger.js";
export { formatText, textTimestamp, TextLines } from "./log-format.js";
export { RotatingFile } from "./rotating-file.js";
export { TelemetryHub, type TelemetrySink, type HubScope } from "./hub.js";
export { ClientTracker, closeMeaning, type TraceEntry, type ClientErrorEntry, type CloseRecord, type TrackerLimits } from "./tracker.js";
export { GatewayMetrics, breakerValue, type MetricsSources } from "./metrics.js";
