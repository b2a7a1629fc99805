import { EventEmitter } from "node:events";
import type { GatewayConfig } from "./schema.js";
import { ConfigError, validateConfig } from "./load.js";

/**
 * Keys that may change while the gateway runs. Everything else (ports, the
 * upstream list, auth mode) needs a restart; changing those at runtime would
 * half-apply, so we refuse instead.
 */
export const RELOADABLE_PREFIXES = [
  "debug", "log_connections", "log_messages", "trace_routing",
  "pool.", "websocket.", "http_sse.", "routing.", "circuit_breaker.",
  "rate_limiting.", "backpressure.", "session.", "shutdown.", "logging.level",
] as const;

/** Event emitted on every accepted change. */
export interface ConfigChange {
  path: string;
  previous: unknown;
  value: unknown;
  config: GatewayConfig;
}

/**
 * Holds the live, frozen config. `update()` is the one way to change it at
 * runtime: it re-validates the whole document and emits `change`.
 */
export class ConfigStore extends EventEmitter {
  #config: GatewayConfig;

  constructor(config: GatewayConfig) {
    super();
    this.#config = config;
  }

  /** The current frozen config. Read it each time; do not cache sections across awaits. */
  get current(): GatewayConfig {
    return this.#config;
  }

  /** Reads a value by dotted path (`pool.size`). */
  get(path: string): unknown {
    let node: any = this.#config;
    for (const part of path.split(".")) {
      if (node === undefined || node === null) return undefined;
      node = node[part];
    }
    return node;
  }

  /** Sets a value by dotted path after validation; throws ConfigError naming the key. */
  update(path: string, value: unknown): ConfigChange {
    const previous = this.get(path);
    // Unknown first: "not changeable at runtime" for a typo sends the operator to restart for nothing.
    if (previous === undefined) throw new ConfigError(`${path}: unknown key`);
    if (!RELOADABLE_PREFIXES.some((p) => (p.endsWith(".") ? path.startsWith(p) : path === p))) {
      throw new ConfigError(`${path}: not changeable at runtime (restart with a new config file)`);
    }
    const draft = structuredClone(this.#config) as any;
    const parts = path.split(".");
    let node = draft;
    for (const part of parts.slice(0, -1)) node = node[part];
    node[parts[parts.length - 1]!] = value;
    const next = validateConfig(draft);
    this.#config = next;
    const change: ConfigChange = { path, previous, value: this.get(path), config: next };
    this.emit("change", change);
    return change;
  }
}
