import diagnostics_channel from "node:diagnostics_channel";
import type { JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc.js";
import type { ConfigStore, ConfigChange } from "../config/store.js";
import type { GatewayConfig } from "../config/schema.js";
import type { Catalog } from "../routing/catalog.js";
import type { SessionRegistry } from "../session/registry.js";
import type { Session } from "../session/session.js";
import { GatewayError, toGatewayError, toJsonRpcError } from "../errors/index.js";
import { channels, type ClientEvent } from "../telemetry/channels.js";
import { FlapDamper } from "../routing/failover.js";
import { ReplicaRouter, type GroupRoute, type ReplicaHealth } from "../routing/replica-router.js";
import type { CallSink, PendingCall, UpstreamConnection } from "./connection.js";
import type { UpstreamGroup, UpstreamManager } from "./manager.js";
import type { Replica } from "./replica.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { LeasePool, type CheckoutFailure, type LeaseHandler } from "./pool.js";
import { HealthChecker } from "./health-checker.js";
import { ReplicaMonitor } from "./replica-monitor.js";
import { TransportBreakers } from "./transport-breakers.js";
import { Subscriptions } from "./subscriptions.js";

/** Per-call routing state, hung on the PendingCall (one small object per call, no closures). */
interface Route {
  h: ReplicaHealth;
  pool: LeasePool<RoutedCall>;
  /** The relay: gets the final answer. */
  next: CallSink;
  request: JsonRpcRequest;
  clientId: string;
  attempts: number;
  leased: boolean;
  probe: boolean;
  abandoned: boolean;
}
type RoutedCall = PendingCall & { route?: Route };

/**
 * Error codes (data.error) that mean the replica failed, not the request: the
 * connection's own (lost, timed out) and what the network transports
 * fabricate (unreachable, HTTP/protocol failure; an expired session carries
 * `reason: "session_expired"`).
 */
const REPLICA_FAILURES = new Set(["upstream_unavailable", "upstream_timeout", "upstream_error", "transport_unavailable"]);
/** Methods safe to send twice: they read, or setting them again changes nothing. */
const SAFE_METHODS = new Set(["resources/read", "prompts/get", "completion/complete", "resources/subscribe", "resources/unsubscribe", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "ping"]);

/** What the layer needs from the gateway. */
export interface ResilienceDeps {
  manager: UpstreamManager;
  catalog: Catalog;
  registry: SessionRegistry;
  config: ConfigStore;
  /** The URIs clients hold per upstream (Relay.subscribedUris): kept subscribed upstream. */
  subscribedUris?: (upstream: string) => Iterable<string>;
}

/**
 * The resilience layer between the relay and the upstream connections:
 * a consistent-hash ring per upstream picks each client's replica
 * (UpstreamManager.picker); every client call takes a lease from its
 * upstream's pool, and its outcome feeds the replica's breaker and failover
 * count (UpstreamManager.sender); safe calls that fail on one replica are
 * retried on the next; replicas are pinged, flapping is damped, resource
 * subscriptions follow their replica. The operator API is ResilienceService
 * (src/upstream/resilience-service.ts).
 */
export class ResilienceCore implements CallSink, LeaseHandler<RoutedCall> {
  readonly damper: FlapDamper;
  readonly router: ReplicaRouter;
  readonly transports: TransportBreakers;
  readonly pools = new Map<string, LeasePool<RoutedCall>>();
  readonly checker: HealthChecker;
  readonly subscriptions: Subscriptions;
  readonly #byReplica = new Map<string, ReplicaHealth>();
  readonly monitor: ReplicaMonitor;
  readonly #readyWaiters = new Map<string, Set<() => void>>();
  #safeTools: Map<string, Set<string>> | null = null;

  constructor(readonly deps: ResilienceDeps) {
    const cfg = () => deps.config.current;
    this.damper = new FlapDamper(() => cfg().routing);
    this.router = new ReplicaRouter(this.damper, () => cfg().routing.vnodes);
    this.transports = new TransportBreakers(() => cfg().circuit_breaker, deps.registry);
    this.subscriptions = new Subscriptions(this.router, deps.subscribedUris);
    this.monitor = new ReplicaMonitor(cfg, this.router, this.damper, this.subscriptions);
    this.monitor.onReady = (h) => {
      const waiters = this.#readyWaiters.get(h.group.name);
      if (waiters) for (const w of [...waiters]) w();
    };
    this.checker = new HealthChecker(() => cfg().routing.health_check_interval, () => this.monitor.tick([...this.#byReplica.values()]));
    for (const group of deps.manager.groups.values()) this.#addGroup(group);
    deps.manager.picker = (group, clientId) => this.router.pick(group, clientId);
    deps.manager.sender = (connection, request, call) => this.#send(connection, request, call as RoutedCall);
    deps.catalog.onListChanged((kind) => {
      if (kind === "tools") this.#safeTools = null;
    });
    deps.config.on("change", (change: ConfigChange) => this.#onConfig(change));
  }

  #addGroup(group: UpstreamGroup): void {
    const policy = () => this.deps.config.current.circuit_breaker;
    const health = group.replicas.map((replica, index): ReplicaHealth => {
      const breaker = new CircuitBreaker(replica.spec.id, "upstream", policy);
      const h: ReplicaHealth = { replica, group, index, breaker, failures: 0, pingFailures: 0, skipped: false, lastUsed: 0, pinging: false };
      breaker.onTransition = (_b, from, to) => this.monitor.transition(h, from, to);
      this.#byReplica.set(replica.spec.id, h);
      // Chain after the gateway's own hooks (catalog refresh/drop).
      const onReady = replica.onReady;
      replica.onReady = (r) => {
        onReady?.(r);
        this.monitor.ready(h);
      };
      replica.onConnectFailed = (_r, reason) => this.monitor.connectFailed(h, reason);
      const onDown = replica.onDown;
      replica.onDown = (r) => {
        onDown?.(r);
        this.monitor.down(h);
      };
      return h;
    });
    this.router.add(group, health);
    this.pools.set(group.name, new LeasePool<RoutedCall>(group.name, () => this.deps.config.current.pool, this));
  }

  /** Health record of a replica (by `<upstream>#<n>`). */
  health(replicaId: string): ReplicaHealth | undefined {
    return this.#byReplica.get(replicaId);
  }

  /** Every replica's health record. */
  allHealth(): IterableIterator<ReplicaHealth> {
    return this.#byReplica.values();
  }

  start(): void {
    this.transports.start();
    this.checker.start();
    diagnostics_channel.subscribe(channels.client.name, this.#onClientEvent);
  }

  stop(): void {
    diagnostics_channel.unsubscribe(channels.client.name, this.#onClientEvent);
    this.checker.stop();
    this.transports.stop();
    for (const pool of this.pools.values()) pool.clear();
    for (const h of this.#byReplica.values()) h.breaker.dispose();
    for (const waiters of this.#readyWaiters.values()) for (const w of waiters) w();
  }

  /**
   * The guide's "Transport Failover Loop": a client hopping between client
   * transports (WebSocket <-> SSE ...) is recorded like any failover, so
   * check_oscillation reports it. The gateway cannot pin a client's transport;
   * the report (and the `flapping` event) is what the operator acts on.
   */
  readonly #onClientEvent = (message: unknown): void => {
    const e = message as ClientEvent;
    if (e.type !== "transport_switch" || this.deps.registry.byClient(e.clientId).length === 0) return;
    this.damper.record(`${e.clientId}@transport`, "transport", Date.now(), e.clientId, "client transport of");
  };

  // ---- the call path -------------------------------------------------------

  #send(connection: UpstreamConnection, request: JsonRpcRequest, call: RoutedCall): void {
    const h = this.#byReplica.get(connection.replica);
    if (h === undefined) return connection.forward(request, call);
    const route: Route = { h, pool: this.pools.get(h.group.name)!, next: call.sink, request, clientId: (call.owner as Session | undefined)?.clientId ?? "", attempts: 0, leased: false, probe: false, abandoned: false };
    call.route = route;
    call.sink = this;
    // Set now, not only when sent: the relay finds cancellations and attribution lanes through it.
    call.connection = connection;
    if (request.method === "resources/unsubscribe") route.h = this.subscriptions.ownerFor(h, request) ?? h;
    if (route.pool.tryAcquire()) {
      route.leased = true;
      this.#dispatch(call, route, true);
    } else route.pool.enqueue(call, this.#maxWait(call));
  }

  #maxWait(call: PendingCall): number {
    return Math.max(0, Math.min(this.deps.config.current.pool.checkout_timeout, call.deadline - Date.now()));
  }

  #checkout(call: RoutedCall, route: Route): void {
    if (route.pool.tryAcquire()) {
      route.leased = true;
      this.#dispatch(call, route, false);
    } else route.pool.enqueue(call, this.#maxWait(call));
  }

  /** Sends with a lease held. `sync`: the relay's caller is on the stack and handles a throw. */
  #dispatch(call: RoutedCall, route: Route, sync: boolean): void {
    if (!sync && !call.lane && !this.router.servable(route.h)) {
      // The replica went away (or its breaker opened) while this call waited: pick again.
      try {
        route.h = this.router.choose(this.router.groups.get(route.h.group.name)!, route.clientId, route.h) ?? route.h;
      } catch {
        // circuit_open everywhere: the send below fails with a clear error
      }
    }
    const h = route.h;
    const connection = h.replica.connection;
    route.probe = h.breaker.state === "half_open" && h.breaker.tryAcquire();
    try {
      if (connection === null) throw new GatewayError("upstream_unavailable", { upstream: h.group.name, reason: `replica ${h.replica.spec.id} is ${h.replica.state}` });
      // An attribution-lane call is bound to the connection whose lane it holds (ADR 0003).
      if (call.lane && connection !== call.connection) throw new GatewayError("upstream_unavailable", { upstream: h.group.name, reason: "connection lost" });
      if (route.attempts > 0 && call.progressToken !== undefined) {
        // forward() rewrote the token for the failed connection; give the next one the client's.
        const meta = route.request.params?._meta as Record<string, unknown> | undefined;
        if (meta) meta.progressToken = call.progressToken;
      }
      connection.forward(route.request, call);
    } catch (err) {
      // Never reached the upstream: any method may be retried. forward() may have rewritten the
      // id already; the relay's error path looks the call up by the client's id.
      route.request.id = call.originalId;
      this.#release(route);
      if (route.probe) h.breaker.release();
      route.probe = false;
      const e = toGatewayError(err);
      // A request the gateway refused before sending (invalid_request: it cannot be serialized) says
      // nothing about the replica: only upstream failures count against its breaker.
      if (e.code === "invalid_request") {
        if (sync) throw e;
        return this.#fail(call, route, e);
      }
      this.monitor.failure(h, (err as Error).message, false);
      if (this.#retry(call, route, true, false, toJsonRpcError(e, call.originalId))) return;
      if (sync) throw e;
      this.#fail(call, route, e);
    }
  }

  /** CallSink: the upstream answered, or the connection fabricated an error (timeout, lost). */
  onUpstreamResponse(response: JsonRpcResponse, call: PendingCall): void {
    const route = (call as RoutedCall).route;
    if (route === undefined) return;
    this.#release(route);
    const h = route.h;
    const data = "error" in response ? (response.error.data as { error?: string; reason?: string } | undefined) : undefined;
    const code = data?.error;
    const probe = route.probe;
    route.probe = false;
    if (code !== undefined && REPLICA_FAILURES.has(code)) {
      this.monitor.failure(h, code, probe);
      // A 404 for our session means the upstream refused the call unseen (it did not run), and
      // the replica is re-initializing: any call may wait for the fresh session and go again.
      const expired = data!.reason === "session_expired";
      if (code !== "upstream_timeout" && this.#retry(call as RoutedCall, route, expired, expired, response)) return;
    } else {
      this.monitor.success(h, probe);
      if (!("error" in response)) this.subscriptions.settled(h, route.request);
    }
    route.next.onUpstreamResponse(response, call);
  }

  /** CallSink: the client cancelled, or its session ended. */
  onAbandon(call: PendingCall): void {
    const route = (call as RoutedCall).route;
    if (route === undefined) return;
    route.abandoned = true;
    this.#release(route);
    if (route.probe) route.h.breaker.release();
    route.probe = false;
    route.next.onAbandon?.(call);
  }

  /** LeaseHandler: a waiting call got its lease. */
  granted(call: RoutedCall, pool: LeasePool<RoutedCall>): void {
    const route = call.route!;
    route.leased = true;
    if (route.abandoned || pool !== route.pool) return this.#release(route);
    this.#dispatch(call, route, false);
  }

  /** LeaseHandler: a waiting call gave up. */
  failed(call: RoutedCall, _pool: LeasePool<RoutedCall>, why: CheckoutFailure, waitedMs: number): void {
    const route = call.route!;
    if (route.abandoned) return;
    const err = why === "timeout" ? new GatewayError("pool_timeout", { upstream: route.h.group.name, timeout_ms: waitedMs }) : new GatewayError("upstream_unavailable", { upstream: route.h.group.name, reason: "pool cleared" });
    this.#fail(call, route, err);
  }

  #release(route: Route): void {
    if (!route.leased) return;
    route.leased = false;
    route.pool.release();
  }

  #fail(call: PendingCall, route: Route, err: GatewayError): void {
    if (channels.error.hasSubscribers) channels.error.publish({ type: "upstream", code: err.code, message: err.message, clientId: route.clientId, upstream: route.h.group.name });
    route.next.onUpstreamResponse(toJsonRpcError(err, call.originalId), call);
  }

  /**
   * Tries the call again on another replica when that is safe: it never left
   * the gateway, or it is a read (resources/read, prompts/get, lists, ...) or
   * a tool annotated readOnlyHint/idempotentHint. A plain tools/call that may
   * have run is never sent twice. Returns true when the retry owns the call.
   */
  #retry(call: RoutedCall, route: Route, neverSent: boolean, reconnecting: boolean, failure: JsonRpcResponse): boolean {
    if (route.abandoned || call.lane) return false;
    if (route.attempts >= this.deps.config.current.routing.max_retries) return false;
    if (call.deadline <= Date.now()) return false;
    if (!neverSent && !this.#isSafe(route.h.group.name, route.request)) return false;
    const session = call.owner as Session | undefined;
    if (session !== undefined && (session.closed || session.inflight?.get(call.originalId) !== call)) return false;
    route.attempts++;
    const groupRoute = this.router.groups.get(route.h.group.name)!;
    let next: ReplicaHealth | undefined;
    try {
      next = this.router.choose(groupRoute, route.clientId, route.h);
    } catch {
      next = undefined;
    }
    if (next !== undefined) {
      route.h = next;
      this.#checkout(call, route);
      return true;
    }
    // No other replica now: wait (bounded) for one to come (back), e.g. a restarting child. A call
    // that never left the gateway also waits when its replica still looks ready: the send failed
    // because the wire is gone (a killed child's stdin) before the replica noticed it is down.
    const recovering = reconnecting || (neverSent && route.h.replica.state !== "stopped");
    // (Not connected covers a replica whose connection just closed: it fails its calls before it goes down.)
    if (!recovering && !route.h.group.replicas.some((r) => r.state !== "stopped" && r.connection?.state !== "ready")) return false;
    this.#whenReady(groupRoute, this.#maxWait(call), (ok) => {
      if (route.abandoned) return;
      let h: ReplicaHealth | undefined;
      try {
        h = ok ? this.router.choose(groupRoute, route.clientId, undefined) : undefined;
      } catch {
        h = undefined;
      }
      if (h === undefined) return route.next.onUpstreamResponse(failure, call);
      route.h = h;
      this.#checkout(call, route);
    });
    return true;
  }

  #whenReady(route: GroupRoute, maxWaitMs: number, done: (ok: boolean) => void): void {
    let waiters = this.#readyWaiters.get(route.group.name);
    if (!waiters) this.#readyWaiters.set(route.group.name, (waiters = new Set()));
    const waiter = () => {
      clearTimeout(timer);
      waiters!.delete(waiter);
      done(route.group.ready().length > 0);
    };
    const timer = setTimeout(waiter, maxWaitMs);
    timer.unref();
    waiters.add(waiter);
  }

  #isSafe(upstream: string, request: JsonRpcRequest): boolean {
    if (SAFE_METHODS.has(request.method)) return true;
    if (request.method !== "tools/call") return false;
    if (this.#safeTools === null) {
      const safe = new Map<string, Set<string>>();
      for (const tool of this.deps.catalog.list("tools")) {
        const a = tool.annotations as { readOnlyHint?: boolean; idempotentHint?: boolean } | undefined;
        if (!a?.readOnlyHint && !a?.idempotentHint) continue;
        const target = this.deps.catalog.resolveTool(tool.name as string);
        if (!target) continue;
        let set = safe.get(target.upstream);
        if (!set) safe.set(target.upstream, (set = new Set()));
        set.add(target.name);
      }
      this.#safeTools = safe;
    }
    return this.#safeTools.get(upstream)?.has(request.params?.name as string) ?? false;
  }

  /** Recycles idle connections (see ReplicaMonitor.recycleIdle). */
  recycleIdle(maxIdleMs: number): number {
    return this.monitor.recycleIdle(this.#byReplica.values(), maxIdleMs);
  }

  #onConfig(change: ConfigChange): void {
    if (change.path.startsWith("pool.")) for (const pool of this.pools.values()) pool.reconfigure();
    else if (change.path === "routing.health_check_interval") this.checker.reschedule();
    else if (change.path === "routing.vnodes") this.router.rebuild();
  }

  /** The replica records of one upstream, or all. */
  replicasOf(upstream?: string): ReplicaHealth[] {
    return [...this.#byReplica.values()].filter((h) => upstream === undefined || h.group.name === upstream);
  }

  /** Current config (for the service). */
  get config(): GatewayConfig {
    return this.deps.config.current;
  }

  /** The Replica object behind an id. */
  replica(id: string): Replica | undefined {
    return this.#byReplica.get(id)?.replica;
  }
}
