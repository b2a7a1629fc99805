import { channels, type CallEvent, type ClientEvent, type ConnectionEvent, type ErrorEvent, type MessageEvent } from "./channels.js";
import type { SessionRegistry } from "../session/registry.js";

/** Something fed by the hub: each method receives only this gateway's events. */
export interface TelemetrySink {
  connection?(e: ConnectionEvent): void;
  message?(e: MessageEvent): void;
  call?(e: CallEvent): void;
  error?(e: ErrorEvent): void;
  client?(e: ClientEvent): void;
  /** Breaker transitions (`{target, kind, from, to, failures}`). */
  breaker?(e: { target: string; kind: string; from: string; to: string; failures: number }): void;
  /** Pool events (`{type, upstream, ...}`). */
  pool?(e: { type: string; upstream: string; [k: string]: unknown }): void;
  /** Routing events (`{type, upstream, target, ...}`). */
  failover?(e: { type: string; upstream: string; target: string; [k: string]: unknown }): void;
}

/** What the hub needs to tell this gateway's events from another's. */
export interface HubScope {
  registry: SessionRegistry;
  /** Upstream names this gateway owns (errors without a client name one). */
  hasUpstream(name: string): boolean;
  /** Modern (2026-07-28) callers of this gateway, which no registry holds (their id is the event's sessionId). */
  ownsCaller?(callerId: string): boolean;
}

/**
 * The one subscriber per gateway to the process-wide diagnostics channels.
 * The channels are global (several gateways may share a process in tests,
 * see ADR 0060), so each event is attributed by its session or client before
 * being fanned out to the tracker and the metrics: one filter, many sinks.
 */
export class TelemetryHub {
  readonly #sinks: TelemetrySink[] = [];
  readonly #scope: HubScope;
  readonly #handlers: Array<[keyof typeof channels, (m: unknown) => void]> = [];
  #closed = false;

  constructor(scope: HubScope) {
    this.#scope = scope;
    this.#handlers.push(
      ["connection", (m) => this.#mine(m as ConnectionEvent) && this.#each("connection", m)],
      ["message", (m) => this.#mine(m as MessageEvent) && this.#each("message", m)],
      ["call", (m) => this.#mine(m as CallEvent) && this.#each("call", m)],
      ["error", (m) => this.#mineError(m as ErrorEvent) && this.#each("error", m)],
      ["client", (m) => this.#mine(m as ClientEvent) && this.#each("client", m)],
    );
    // Channels added by the resilience layer: attributed by upstream (transport breakers are per process name).
    const byUpstream = (m: unknown) => this.#scope.hasUpstream(String((m as { upstream?: string }).upstream));
    const byTarget = (m: unknown) => {
      const { kind, target } = m as { kind?: string; target?: string };
      return kind === "transport" || this.#scope.hasUpstream(String(target).split("#")[0]!);
    };
    const optional: Array<[string, (m: unknown) => void]> = [
      ["breaker", (m) => byTarget(m) && this.#each("breaker", m)],
      ["pool", (m) => byUpstream(m) && this.#each("pool", m)],
      ["failover", (m) => byUpstream(m) && this.#each("failover", m)],
    ];
    const all = channels as unknown as Record<string, { subscribe(fn: (m: unknown) => void): void } | undefined>;
    for (const [name, fn] of optional) if (all[name]) this.#handlers.push([name as keyof typeof channels, fn]);
    for (const [name, fn] of this.#handlers) channels[name].subscribe(fn);
  }

  /** Adds a sink; events are delivered in the order sinks were added. */
  add(sink: TelemetrySink): void {
    this.#sinks.push(sink);
  }

  /** Removes a sink added with add (a live console that closed); unknown sinks are ignored. */
  remove(sink: TelemetrySink): void {
    const i = this.#sinks.indexOf(sink);
    if (i >= 0) this.#sinks.splice(i, 1);
  }

  /** Unsubscribes from every channel (gateway closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [name, fn] of this.#handlers) channels[name].unsubscribe(fn);
  }

  #mine(e: { sessionId?: string; clientId?: string }): boolean {
    const r = this.#scope.registry;
    if (e.sessionId !== undefined && (r.get(e.sessionId) || this.#scope.ownsCaller?.(e.sessionId))) return true;
    return e.clientId !== undefined && r.byClient(e.clientId).length > 0;
  }

  #mineError(e: ErrorEvent): boolean {
    if (e.clientId !== undefined) return this.#mine(e);
    if (e.upstream !== undefined) return this.#scope.hasUpstream(e.upstream);
    return true;
  }

  #each(kind: keyof TelemetrySink, event: unknown): true {
    for (const s of this.#sinks) {
      const fn = s[kind] as ((e: unknown) => void) | undefined;
      if (fn) {
        try {
          fn.call(s, event);
        } catch {
          // A telemetry bug must never break the message path that published the event.
        }
      }
    }
    return true;
  }
}
