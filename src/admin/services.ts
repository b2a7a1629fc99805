/**
 * The operator-facing services the admin API, CLI, console and doctor call.
 * Each feature implements its part; the admin layer only sees these shapes.
 * Field names are snake_case because they are the JSON the operator reads.
 */

/** Pool figures for one upstream (the guide's ConnectionPool.health_check()). */
export interface PoolHealth {
  upstream: string;
  size: number;
  overflow: number;
  in_use: number;
  available: number;
  overflow_in_use: number;
  waiting: number;
  /** in_use / (size + overflow). */
  exhaustion_ratio: number;
  idle_connections: number;
  timeouts: number;
}

export type BreakerState = "closed" | "open" | "half_open";

/** One breaker's state (the guide's CircuitBreaker.get_states). */
export interface BreakerInfo {
  target: string;
  kind: "transport" | "upstream";
  state: BreakerState;
  failures: number;
  opened_at: string | null;
}

/** Resilience: pools, breakers, hash ring, failover/flapping (issue #3). */
export interface ResilienceService {
  healthCheck(): { upstreams: PoolHealth[]; totals: Omit<PoolHealth, "upstream"> };
  cleanupIdleConnections(maxIdleSeconds: number): { closed: number };
  clearAll(): Promise<{ cleared: number }>;
  restartPools(): Promise<{ restarted: number }>;
  breakerStates(): BreakerInfo[];
  /** target: a transport name, an upstream name, a replica id, or "all". */
  resetBreaker(target: string): { reset: string[] };
  distribution(): Array<{ replica: string; upstream: string; weight: number; vnodes: number; clients: number; state: string }>;
  checkOscillation(clientId?: string): Array<{ target: string; failovers: number; window_ms: number; held_until: string | null; hold_down_ms: number }>;
  transportHealth(transport: string): { transport: string; state: BreakerState; accepting: boolean; connections: number; errors: number };
}


/** Whether the rate limiter's store is reachable (a Redis outage makes the limiter degraded, not broken). */
export interface StoreState {
  store: "memory" | "redis";
  /** True while the store cannot be reached. */
  redis_unavailable: boolean;
  /** Why (redacted), while unavailable. */
  store_error?: string;
  /** What requests get meanwhile (`rate_limiting.fail_mode`), while unavailable. */
  fail_mode?: "open" | "closed";
}

/** A key's state without consuming; count and remaining are null while the store is down. */
export interface RateCheck extends StoreState {
  key: string;
  allowed: boolean;
  remaining: number | null;
  limit: number;
  window_ms: number;
  retry_after: number | null;
  count: number | null;
}

/** The limiter's figures; with the store down, this node's overrides and a null total. */
export interface RateStats extends StoreState {
  default_limit: number;
  window_ms: number;
  overrides: Record<string, { limit: number; window_ms: number }>;
  most_limited: Array<{ key: string; rejected: number }>;
  total_rejected: number | null;
}

/** Rate limiting as the admin layer uses it (issue #4). Keys look like `user:<client_id>`. */
export interface RateLimitService {
  check(key: string, limit?: number, windowMs?: number): Promise<RateCheck>;
  /** False when the store was unreachable (the override holds on this node only). */
  setLimit(key: string, limit: number, windowMs?: number): Promise<boolean>;
  /** False when the store was unreachable. */
  reset(key: string): Promise<boolean>;
  stats(): Promise<RateStats>;
}
