export { installOperations, operationsOf, type OperationsHandle } from "./install.js";
export { Operations, LOGGING_SWITCHES, coerce } from "./operations.js";
export { registerAdminRoutes, numberParam } from "./routes.js";
export { checkAdminToken } from "./admin-auth.js";
export { health, gatewayHealth, type HealthSources } from "./health.js";
export { clientInfo, traceClient, clientErrors, sessionView, normalizeTransport, type OpsContext, type SessionView } from "./client-diagnostics.js";
export { analyzeConnections, analyze1006, findOldConnections, gcOldConnections, cleanupIdleConnections, ageBucket, DEFAULT_THRESHOLDS, type PatternThresholds } from "./connection-analysis.js";
export { memoryReport, queuesReport } from "./memory.js";
export type { ResilienceService, RateLimitService, PoolHealth, BreakerInfo, BreakerState } from "./services.js";
