import { createRequire } from "node:module";
import type * as IoRedis from "ioredis";
import type * as RateLimiterFlexible from "rate-limiter-flexible";
import type * as Undici from "undici";
import type * as Ws from "ws";

// Packages only some configurations use are required on first use, not imported at start-up: a gateway
// without Redis never loads ioredis (~10 MB of RSS), one without rate limiting never loads
// rate-limiter-flexible, one with only stdio upstreams never loads undici (~15 MB), and ws waits for the
// first WebSocket or Phoenix client (or WebSocket upstream)
// (docs/adr/0200-memory-per-idle-session.md). Both are CommonJS, so a synchronous
// require() keeps the callers synchronous.
const requireOptional = createRequire(import.meta.url);

let ioredis: typeof IoRedis | undefined;
let rlf: typeof RateLimiterFlexible | undefined;
let undici: typeof Undici | undefined;
let ws: typeof Ws | undefined;

/** ioredis, loaded the first time a Redis connection is made. */
export function ioredisPackage(): typeof IoRedis {
  return (ioredis ??= requireOptional("ioredis") as typeof IoRedis);
}

/** rate-limiter-flexible, loaded the first time a rate-limit window is counted. */
export function rateLimiterPackage(): typeof RateLimiterFlexible {
  return (rlf ??= requireOptional("rate-limiter-flexible") as typeof RateLimiterFlexible);
}

/** undici, loaded the first time an HTTP upstream (Streamable HTTP, HTTP+SSE) is built. */
export function undiciPackage(): typeof Undici {
  return (undici ??= requireOptional("undici") as typeof Undici);
}

/** ws, loaded at the first WebSocket/Phoenix upgrade or WebSocket upstream. */
export function wsPackage(): typeof Ws {
  return (ws ??= requireOptional("ws") as typeof Ws);
}

/**
 * A CommonJS package for forgetPackage() to free later: required through a throw-away parent module, because the
 * parent a kept createRequire() makes lists every module it loads among its children and would keep them alive.
 */
export function requireForgettable<T>(name: string): T {
  return createRequire(import.meta.url)(name) as T;
}

/**
 * Forgets a CommonJS package loaded through require(): its modules leave require.cache, so once nothing holds its
 * objects the GC frees its code and data, and the next require() loads it afresh. For packages only start-up needs
 * (zod for config validation, yaml for the config file, commander for the command line), loaded with
 * requireForgettable; the caller must drop its own references first.
 */
export function forgetPackage(name: string): void {
  const dir = `/node_modules/${name}/`;
  for (const file of Object.keys(requireOptional.cache)) if (file.replaceAll("\\", "/").includes(dir)) delete requireOptional.cache[file];
}
