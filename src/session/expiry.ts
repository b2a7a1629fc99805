import type { ConfigStore } from "../config/store.js";
import type { SessionRegistry } from "./registry.js";

/**
 * Ends idle sessions per `session.ttl`. The sweep runs every quarter of the
 * TTL (between 100 ms and 30 s, read again at every sweep, so a runtime
 * change takes effect), so a session outlives its TTL by at most a quarter.
 * Returns a stop function.
 */
export function startSessionExpiry(registry: SessionRegistry, config: ConfigStore): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    const ttl = config.current.session.ttl;
    timer = setTimeout(() => {
      registry.expire(config.current.session.ttl);
      schedule();
    }, Math.max(100, Math.min(30_000, Math.floor(ttl / 4))));
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
