export { compose, type Middleware, type MessageHandler } from "./compose.js";
export { checkOrigin, type OriginPolicy } from "./origin.js";
export { installProtection, protectionOf, type ProtectionHandle } from "./chain.js";
export { BackpressureController, backpressureLevel, isCritical, type BackpressureInfo, type BackpressureLevel } from "./backpressure.js";
export { admitClient, capConnections, checkHeaderCount } from "./connection-limits.js";
export { AuthService, authFailureBody, createToolFilter } from "./auth/index.js";
export { RateLimiter, createRateStore, rateLimitMiddleware } from "./rate-limit/index.js";
