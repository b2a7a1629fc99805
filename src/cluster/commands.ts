import type { ResilienceService } from "../admin/services.js";
import type { ConfigChange } from "../config/store.js";
import type { BreakerEvent } from "../upstream/circuit-breaker.js";
import type { Resilience } from "../upstream/resilience-service.js";
import { channels, log } from "../telemetry/channels.js";
import { operationsOf } from "../admin/install.js";
import type { ClusterService } from "./cluster-service.js";

/** An admin action applied on every node. `name` selects the handler; the rest are its arguments. */
export type ClusterCommand =
  | { name: "breaker_reset"; target: string }
  | { name: "cleanup"; max_idle_seconds: number }
  | { name: "pool_clear" }
  | { name: "pool_restart" }
  | { name: "config_set"; path: string; value: unknown }
  | { name: string; [arg: string]: unknown };

/** Runs one command on this node; `from` is the node that issued it. */
export type CommandHandler = (command: ClusterCommand, from: string) => unknown;

/** What travels on the broadcast channel. */
type BroadcastMessage =
  | { t: "cmd"; f: string; cmd: ClusterCommand }
  | { t: "breaker"; f: string; target: string; kind: string; reason?: string };

/**
 * Cluster-wide admin actions and breaker news over the broadcast channel.
 * `broadcast(command)` runs a command on every other node through the
 * handler registered for its name (`on`). Installed wiring: breaker reset,
 * idle cleanup, pool clear/restart and config set made through this node's
 * services are repeated on the others, and circuit-breaker openings are
 * announced so peers open the same network upstream's breaker without paying
 * for the failures themselves (a stdio replica is a per-node child process,
 * so its opening is reported in the view, not applied).
 */
export class Commands {
  readonly #handlers = new Map<string, CommandHandler>();
  #applyingConfig = false;
  #remote = false;
  #applyingBreaker = false;
  readonly #onBreaker = (e: unknown) => this.#breakerChanged(e as BreakerEvent);

  constructor(readonly cluster: ClusterService) {}

  /** Registers the handler of command `name` (replacing any previous one). */
  on(name: string, handler: CommandHandler): void {
    this.#handlers.set(name, handler);
  }

  /** Sends `command` to every other node; resolves with how many received it. */
  async broadcast(command: ClusterCommand): Promise<number> {
    const c = this.cluster;
    if (!c.link.up) return 0;
    const m: BroadcastMessage = { t: "cmd", f: c.nodeId, cmd: command };
    return c.bus.publish(c.keys.broadcast, JSON.stringify(m)).catch(() => 0);
  }

  /** A message on the broadcast channel. */
  onBroadcast(raw: string): void {
    const m = JSON.parse(raw) as BroadcastMessage;
    if (m.f === this.cluster.nodeId) return;
    if (m.t === "breaker") return this.#peerOpened(m);
    if (m.t !== "cmd") return;
    const handler = this.#handlers.get(m.cmd.name);
    if (!handler) return;
    this.cluster.emit({ type: "remote_command", node: this.cluster.nodeId, peer: m.f, detail: m.cmd.name });
    Promise.resolve()
      .then(() => handler(m.cmd, m.f))
      .catch((err) => log("warn", "MCP.Cluster", `cluster command ${m.cmd.name} from ${m.f} failed: ${(err as Error).message}`));
  }

  /** Wires the admin actions that exist on this gateway, and breaker announcements. */
  install(): void {
    const gateway = this.cluster.gateway;
    const r = gateway.resilience;
    if (r) this.#wrapResilience(r);
    this.#wrapCleanup();
    gateway.config.on("change", (change: ConfigChange) => {
      if (!this.#applyingConfig) void this.broadcast({ name: "config_set", path: change.path, value: change.value });
    });
    this.on("config_set", (cmd) => {
      const { path, value } = cmd as { path: string; value: unknown };
      this.#applyingConfig = true;
      try {
        gateway.config.update(path, value);
      } finally {
        this.#applyingConfig = false;
      }
    });
    channels.breaker.subscribe(this.#onBreaker);
    gateway.server.once("close", () => channels.breaker.unsubscribe(this.#onBreaker));
  }

  /** Runs a peer's command: the wrappers below see the flag and do not broadcast it back. */
  #asRemote<T>(fn: () => T): T {
    this.#remote = true;
    try {
      return fn();
    } finally {
      this.#remote = false;
    }
  }

  /**
   * Each operator action on this node also runs on the others: the wrapper runs the original,
   * then broadcasts (unless it is itself running a peer's command); the handlers call the originals.
   */
  #wrapResilience(r: ResilienceService): void {
    const reset = r.resetBreaker.bind(r);
    const clear = r.clearAll.bind(r);
    const restart = r.restartPools.bind(r);
    r.resetBreaker = (target) => {
      const share = !this.#remote;
      const out = reset(target);
      if (share) void this.broadcast({ name: "breaker_reset", target });
      return out;
    };
    r.clearAll = async () => {
      const share = !this.#remote;
      const out = await clear();
      if (share) void this.broadcast({ name: "pool_clear" });
      return out;
    };
    r.restartPools = async () => {
      const share = !this.#remote;
      const out = await restart();
      if (share) void this.broadcast({ name: "pool_restart" });
      return out;
    };
    this.on("breaker_reset", (cmd) => this.#asRemote(() => reset(String((cmd as { target: string }).target))));
    this.on("pool_clear", () => this.#asRemote(() => clear()));
    this.on("pool_restart", () => this.#asRemote(() => restart()));
  }

  /**
   * Idle cleanup as the operator runs it (idle client sessions and idle upstream connections,
   * `POST /mcp/admin/cleanup`); falls back to the resilience service's part when the operations
   * layer is not installed.
   */
  #wrapCleanup(): void {
    const gateway = this.cluster.gateway;
    let target: { cleanupIdleConnections(maxIdleSeconds: number): unknown } | undefined;
    try {
      target = operationsOf(gateway).ops;
    } catch {
      target = gateway.resilience;
    }
    if (!target) return;
    const cleanup = target.cleanupIdleConnections.bind(target);
    target.cleanupIdleConnections = (maxIdleSeconds: number) => {
      const share = !this.#remote;
      const out = cleanup(maxIdleSeconds);
      if (share) void this.broadcast({ name: "cleanup", max_idle_seconds: maxIdleSeconds });
      return out;
    };
    this.on("cleanup", (cmd) => this.#asRemote(() => cleanup(Number((cmd as { max_idle_seconds: number }).max_idle_seconds))));
  }

  #breakerChanged(e: BreakerEvent): void {
    if (e.to !== "open" || this.#applyingBreaker) return;
    // A peer's news tripped this breaker: already announced by that peer.
    if (e.reason?.startsWith("peer ")) return;
    const c = this.cluster;
    if (!c.link.up) return;
    const m: BroadcastMessage = { t: "breaker", f: c.nodeId, target: e.target, kind: e.kind, reason: e.reason };
    void c.bus.publish(c.keys.broadcast, JSON.stringify(m)).catch(() => {});
  }

  /** A peer's breaker opened: open ours for the same network upstream replica. */
  #peerOpened(m: { f: string; target: string; kind: string; reason?: string }): void {
    const c = this.cluster;
    let applied = false;
    const core = (c.gateway.resilience as Resilience | undefined)?.core;
    if (m.kind === "upstream" && core) {
      for (const h of core.replicasOf()) {
        if (h.replica.spec.id !== m.target || h.group.config.transport === "stdio" || h.breaker.state !== "closed") continue;
        this.#applyingBreaker = true;
        try {
          h.breaker.trip(`peer ${m.f}: ${m.reason ?? "opened"}`);
          applied = true;
        } finally {
          this.#applyingBreaker = false;
        }
      }
    }
    c.peerOpenings.unshift({ node: m.f, target: m.target, at: new Date().toISOString(), applied });
    if (c.peerOpenings.length > 20) c.peerOpenings.length = 20;
    c.emit({ type: "peer_breaker_open", node: c.nodeId, peer: m.f, detail: `${m.target}${applied ? " (applied)" : ""}` });
  }
}
