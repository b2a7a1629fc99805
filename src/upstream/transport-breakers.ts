import diagnostics_channel from "node:diagnostics_channel";
import type { Middleware } from "../middleware/compose.js";
import type { SessionRegistry } from "../session/registry.js";
import type { BreakerState } from "../admin/services.js";
import { GatewayError } from "../errors/index.js";
import { channels, log, type ClientTransportKind, type ErrorEvent } from "../telemetry/channels.js";
import { CircuitBreaker, type BreakerPolicy } from "./circuit-breaker.js";

/** The client transports that have a breaker (Phoenix rides the WebSocket one). */
export const CLIENT_TRANSPORTS = ["websocket", "http_sse", "streamable_http"] as const;
/** One of CLIENT_TRANSPORTS. */
export type BreakerTransport = (typeof CLIENT_TRANSPORTS)[number];

/**
 * Failures that count against a transport: the gateway failed the client on
 * that transport (`internal_error`: a bug or broken dependency in the path).
 * Client mistakes never do (bad JSON, non-JSON-RPC input, bad ids, too deep
 * a message: refused at the edge as invalid_request before any handler, see
 * src/protocol/validate.ts; unknown tools, rate limits, auth), and neither
 * does a client that does not read (`backpressure_dropped` is that client's
 * own slowness: counting it would let a few non-reading clients open the
 * breaker for everyone). Upstream trouble has its own breakers.
 */
const TRANSPORT_FAILURES = new Set(["internal_error"]);

/** Health of one client transport (the guide's check_transport_health). */
export interface TransportHealth {
  transport: string;
  state: BreakerState;
  accepting: boolean;
  connections: number;
  errors: number;
}

/**
 * One breaker per client transport. It opens after `failure_threshold`
 * consecutive transport failures (see TRANSPORT_FAILURES) with no request on
 * that transport succeeding in between; while open, requests on it get
 * `transport_unavailable` (notifications and responses still pass, so
 * sessions can wind down); after `reset_timeout` the next request is a probe.
 */
export class TransportBreakers {
  readonly breakers: Record<BreakerTransport, CircuitBreaker>;
  readonly #registry: SessionRegistry;
  readonly #onError = (message: unknown) => this.#errorEvent(message as ErrorEvent);
  #subscribed = false;

  constructor(policy: () => BreakerPolicy, registry: SessionRegistry) {
    this.#registry = registry;
    this.breakers = {
      websocket: new CircuitBreaker("websocket", "transport", policy),
      http_sse: new CircuitBreaker("http_sse", "transport", policy),
      streamable_http: new CircuitBreaker("streamable_http", "transport", policy),
    };
  }

  /** The breaker guarding a session's transport. */
  of(kind: ClientTransportKind | string): CircuitBreaker | undefined {
    return kind === "phoenix" ? this.breakers.websocket : this.breakers[kind as BreakerTransport];
  }

  /** Starts counting failures reported on the error channel. */
  start(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    diagnostics_channel.subscribe(channels.error.name, this.#onError);
  }

  stop(): void {
    if (!this.#subscribed) return;
    this.#subscribed = false;
    diagnostics_channel.unsubscribe(channels.error.name, this.#onError);
    for (const b of Object.values(this.breakers)) b.dispose();
  }

  /** Counts a failure on a transport (listeners may call this for failures they see themselves). */
  recordFailure(transport: string, reason: string): void {
    const b = this.of(transport);
    if (!b) return;
    const before = b.state;
    b.failure(reason);
    if (before !== "open" && b.state === "open") log("error", "MCP.Gateway", `transport ${transport} breaker opened after ${b.failures} consecutive failures (${reason})`);
  }

  #errorEvent(e: ErrorEvent): void {
    if (!e.transport || !TRANSPORT_FAILURES.has(e.code)) return;
    // The channel is process-wide: count only this gateway's clients.
    if (e.clientId !== undefined && this.#registry.byClient(e.clientId).length === 0) return;
    this.recordFailure(e.transport, e.code);
  }

  /** Requests that reached the relay (see {@link outcome}); a probe whose request did not yet is released. */
  readonly #reached = new WeakSet<object>();

  /**
   * The message middleware (outermost): refuses requests on an open
   * transport and counts a request that throws out of the chain. Successes
   * are counted by {@link outcome}, next to the relay: steps in between may
   * defer a request (the rate limiter awaits its store), and a success
   * counted here, before the relay ran, reset the consecutive count ahead of
   * every real failure, so real internal errors never opened the breaker.
   */
  readonly middleware: Middleware = (next) => (session, message) => {
    const b = this.of(session.transport);
    if (b === undefined || (message as { id?: unknown; method?: unknown }).method === undefined || (message as { id?: unknown }).id === undefined) {
      return next(session, message);
    }
    if (b.state !== "closed" && !b.tryAcquire()) throw new GatewayError("transport_unavailable", { transport: b.target });
    const probing = b.state === "half_open";
    try {
      next(session, message);
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code === "internal_error") this.recordFailure(b.target, "internal_error");
      throw err;
    }
    // Deferred (or refused before the relay): free the probe slot so it cannot stay claimed; its outcome still counts.
    if (probing && !this.#reached.has(message)) b.release();
  };

  /**
   * Wraps the relay (the innermost handler, which answers every failure
   * synchronously and never throws): a request it handled without a
   * transport failure is a success.
   */
  readonly outcome: Middleware = (next) => (session, message) => {
    const b = this.of(session.transport);
    if (b === undefined || (message as { method?: unknown }).method === undefined || (message as { id?: unknown }).id === undefined) return next(session, message);
    // Only a probe's request is looked up (above): a closed breaker's requests skip the WeakSet insert.
    if (b.state === "half_open") this.#reached.add(message);
    const before = b.totalFailures;
    next(session, message);
    if (b.totalFailures === before) b.success();
  };

  /** Health of one transport. */
  health(transport: string): TransportHealth {
    const b = this.of(transport);
    if (!b) throw new GatewayError("invalid_params", { detail: `unknown transport ${transport}; use ${CLIENT_TRANSPORTS.join(", ")}` });
    let connections = 0;
    for (const s of this.#registry.all()) if (s.sink && this.of(s.transport) === b) connections++;
    return { transport: b.target, state: b.state, accepting: b.state !== "open", connections, errors: b.totalFailures };
  }

  /** State per transport (health endpoints). */
  states(): Record<string, BreakerState> {
    return { streamable_http: this.breakers.streamable_http.state, http_sse: this.breakers.http_sse.state, websocket: this.breakers.websocket.state };
  }
}
