export { RateLimiter, createRateStore, type RateVerdict } from "./service.js";
export { rateLimitMiddleware, rateLimitedRetryAfter, rateKey, type Rejecter } from "./middleware.js";
