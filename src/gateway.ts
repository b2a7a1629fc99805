import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import type { GatewayConfig } from "./config/schema.js";
import { ConfigStore } from "./config/store.js";
import { GatewayError, toGatewayError } from "./errors/index.js";
import { SessionRegistry } from "./session/registry.js";
import type { Session } from "./session/session.js";
import { UpstreamManager } from "./upstream/manager.js";
import type { TransportFactory } from "./upstream/replica.js";
import { createUpstreamTransport } from "./upstream/transport-factory.js";
import { Catalog } from "./routing/catalog.js";
import { startAndListFirst, type FirstListReport } from "./routing/first-lists.js";
import { Relay } from "./relay/relay.js";
import { compose, type Middleware, type MessageHandler } from "./middleware/compose.js";
import { checkOrigin } from "./middleware/origin.js";
import { Router } from "./listeners/router.js";
import type { ListenerContext } from "./listeners/context.js";
import { selfNamedIdentity, type Authenticator } from "./listeners/identity.js";
import { handleStreamableHttp } from "./listeners/streamable-http.js";
import { handleLegacySsePost, handleLegacySseStream, LEGACY_POST_PATH } from "./listeners/legacy-sse.js";
import { WebSocketListener } from "./listeners/websocket.js";
import { PhoenixListener, PHOENIX_PATH } from "./listeners/phoenix.js";
import { failInFlight, waitForDrain } from "./session/drain.js";
import { startSessionExpiry } from "./session/expiry.js";
import { ignoreError, pathOf, sendError, sendJson } from "./listeners/http-util.js";
import { guarded } from "./listeners/guard.js";
import { isValidRequestId } from "./protocol/validate.js";
import { refuseUpgrade } from "./listeners/ws-server.js";
import { gatewayHealth, health, type HealthSources } from "./admin/health.js";
import { channels, log } from "./telemetry/channels.js";
import { installOperations, operationsOf } from "./admin/install.js";
import { installIntegrity, type IntegrityService } from "./integrity/index.js";
import { installProtection } from "./middleware/chain.js";
import { checkHeaderCount } from "./middleware/connection-limits.js";
import { installResilience } from "./upstream/resilience-service.js";
import { installOpenTelemetry, type OtelHandle } from "./telemetry/otel/install.js";
import type { RateLimitService, ResilienceService } from "./admin/services.js";
import { installCluster, type ClusterService } from "./cluster/index.js";
import type { CallerContext } from "./protocol/caller-context.js";
import { ModernService } from "./eras/modern/service.js";

/** Package version, reported in serverInfo and health. */
export const VERSION = "0.1.0";

/** Hooks later layers plug in (auth, rate limiting, admin routes, telemetry). */
export interface GatewayOptions {
  /** Upstream wire factory (tests inject in-memory transports). */
  transportFactory?: TransportFactory;
  /** Extra message middleware, outermost first. */
  middleware?: Middleware[];
  /** Identity at connect time; defaults to the dev profile's self-naming. */
  authenticate?: Authenticator;
}

/**
 * The assembled gateway: one HTTP server (port 4000 by default) carrying
 * every client transport, the health endpoints and the admin API, in front of
 * the upstream manager.
 */
export class Gateway {
  readonly config: ConfigStore;
  readonly registry: SessionRegistry;
  readonly manager: UpstreamManager;
  readonly catalog: Catalog;
  readonly relay: Relay;
  readonly router = new Router();
  readonly server: Server;
  readonly websocket: WebSocketListener;
  /** Phoenix channel clients at `/mcp/ws/websocket`. */
  readonly phoenix: PhoenixListener;
  readonly context: ListenerContext;
  readonly startedAt = Date.now();
  readonly healthSources: HealthSources;
  /** Pools, breakers, ring, failover (installed by the resilience layer). */
  resilience?: ResilienceService;
  /** Rate limiter (installed by the protection layer). */
  rateLimiter?: RateLimitService;
  /** This node's part in a cluster (only with cluster.redis_url); `cluster.view()` for stats. */
  cluster?: ClusterService;
  /** Tool pinning, drift, poisoning scan and name limits (src/integrity/, docs/integrity.md). */
  readonly integrity: IntegrityService;
  /** OpenTelemetry by the MCP semantic conventions, when telemetry.otlp / OTEL_* turn it on (src/telemetry/otel/). */
  readonly otel?: OtelHandle;
  #handler: MessageHandler;
  #middleware: Middleware[];
  /** The innermost handler: the relay, possibly wrapped (see wrapRelay). */
  #final: MessageHandler = (s, m) => this.relay.handle(s, m);
  #stopExpiry?: () => void;
  #starting = true;
  /** How start-up's first lists went (time to the first full list, per-upstream outcome); set once listen() resolved. */
  firstLists?: FirstListReport;
  /** Resolves once upstreams are started and their lists loaded (see #waitReady). */
  #ready: Promise<void>;
  #markReady!: () => void;
  #closing = false;

  constructor(config: GatewayConfig, readonly options: GatewayOptions = {}) {
    this.#ready = new Promise((resolve) => (this.#markReady = resolve));
    this.config = new ConfigStore(config);
    this.registry = new SessionRegistry({ size: config.session.replay_buffer_size, bytes: config.session.replay_buffer_bytes }, config.backpressure.max_total_buffered_bytes);
    this.manager = new UpstreamManager(config.upstreams, options.transportFactory ?? createUpstreamTransport);
    this.catalog = new Catalog(this.manager, config.routing.prefix, () => this.config.current.routing.list_timeout);
    this.relay = new Relay(this.manager, this.catalog, this.registry, this.config, VERSION);
    this.#middleware = options.middleware ?? [];
    this.#handler = compose(this.#middleware, this.#final);
    for (const group of this.manager.groups.values()) {
      for (const replica of group.replicas) {
        replica.onReady = () => {
          if (!this.#starting) void this.catalog.refresh(group);
        };
        replica.onDown = () => {
          // Not at once: calls that arrive while a replica respawns wait for it (Relay #awaitReplica).
          if (group.ready().length === 0) this.catalog.dropUnlessBack(group, this.config.current.pool.checkout_timeout);
        };
      }
    }
    this.config.on("change", ({ config: c }: { config: GatewayConfig }) => {
      this.catalog.prefixMode = c.routing.prefix;
      this.registry.setReplayLimits({ size: c.session.replay_buffer_size, bytes: c.session.replay_buffer_bytes });
      this.registry.budget.limit = c.backpressure.max_total_buffered_bytes;
    });
    this.context = {
      config: this.config,
      registry: this.registry,
      authenticate: options.authenticate ?? selfNamedIdentity,
      verify: () => null,
      refuse: (res, err) => sendError(res, err),
      dispatch: (session, message) => this.#dispatch(session, message),
      onConnected: (session, peer) => {
        if (channels.connection.hasSubscribers) {
          channels.connection.publish({ type: "connected", clientId: session.clientId, sessionId: session.id, transport: session.transport, remote: peer.remoteAddress });
        }
      },
      onDisconnected: (session, closeCode, reason, transport) => {
        if (channels.connection.hasSubscribers) {
          channels.connection.publish({ type: "disconnected", clientId: session.clientId, sessionId: session.id, transport: transport ?? session.transport, closeCode, reason });
        }
      },
    };
    // The modern (2026-07-28) wire on /mcp: the listener classifies each request once and hands modern ones over.
    this.context.modern = new ModernService({ config: this.config, context: this.context, catalog: this.catalog, relay: this.relay, version: VERSION });
    this.websocket = new WebSocketListener(this.context);
    this.phoenix = new PhoenixListener(this.context);
    this.upgradeHandlers.set(PHOENIX_PATH, (req, socket, head) => this.phoenix.upgrade(req, socket, head));
    this.healthSources = { manager: this.manager, registry: this.registry, catalog: this.catalog, startedAt: this.startedAt, version: VERSION };
    this.#routes();
    const s = config.server;
    this.server = createServer(
      {
        maxHeaderSize: s.max_header_size,
        headersTimeout: s.headers_timeout,
        requestTimeout: s.request_timeout,
        keepAliveTimeout: 65_000,
        // Node checks the two timeouts above only this often (default 30 s): check often enough that a trickling client is cut off near its deadline.
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(s.headers_timeout || 1000, s.request_timeout || 1000) / 4))),
      },
      (req, res) => this.#onRequest(req, res),
    );
    // One more than allowed, so checkHeaderCount can tell "at the limit" from "over it" (Node silently drops the excess).
    this.server.maxHeadersCount = s.max_headers_count + 1;
    this.server.on("upgrade", (req, socket, head) => this.#onUpgrade(req, socket, head));
    this.server.on("clientError", (err, socket) => {
      // Malformed or too-slow requests: answer 400/408/431 and keep serving everyone else.
      const code = (err as { code?: string }).code;
      const status = code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${status === 408 ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      else socket.destroy();
    });
    // Pools, breakers, consistent-hash routing, failover (src/upstream/resilience-service.ts); its
    // transport-breaker middleware goes first so an open transport refuses before any other work.
    installResilience(this);
    // Auth, connection caps, rate limiting, tool rules, backpressure (order documented in src/middleware/chain.ts).
    installProtection(this);
    // Operator surface: telemetry subscribers, /metrics, /mcp/stats, /mcp/admin/* (src/admin/install.ts).
    installOperations(this);
    // Tool integrity: reviews every refreshed list (pins, drift, scan) and names withheld tools on calls (src/integrity/).
    this.integrity = installIntegrity({ config: this.config, catalog: this.catalog, relay: this.relay, manager: this.manager, router: this.router, server: this.server, metrics: operationsOf(this).metrics.registry });
    // Cluster mode when cluster.redis_url / REDIS_URL is set: shared sessions, event log, forwarding (src/cluster/).
    this.cluster = installCluster(this);
    this.otel = installOpenTelemetry({ config, relay: this.relay, registry: this.registry, manager: this.manager, context: this.context, metrics: operationsOf(this).metrics.registry, version: VERSION });
  }

  /** Wraps the relay itself, inside every middleware (the transport breakers judge outcomes there). */
  wrapRelay(wrapper: Middleware): void {
    this.#final = wrapper(this.#final);
    this.#handler = compose(this.#middleware, this.#final);
  }

  /** Replaces the middleware chain (auth and rate limiting install theirs). */
  use(middleware: Middleware): void {
    this.#middleware.push(middleware);
    this.#handler = compose(this.#middleware, this.#final);
  }

  #dispatch(session: CallerContext, message: Parameters<MessageHandler>[1]): void {
    // At the chain's entry, not in the relay: a request refused by any middleware still gets its SERVER span
    // (every answer, middleware's too, goes out through Relay#reject/#reply, which end it).
    this.relay.tracer?.inbound(session, message);
    // Listeners pass only messages that passed checkMessage (src/protocol/validate.ts); this guard is
    // the last line: whatever gets here and is not an object is the client's mistake, never a crash.
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
      return this.relay.reject(session, null, new GatewayError("invalid_request", { detail: "a message must be a JSON-RPC object" }));
    }
    const m = message as { id?: unknown; method?: unknown };
    const id = isValidRequestId(m.id) ? m.id : null;
    // Draining: calls in flight finish, new ones are answered at once (never left without a reply).
    if (this.#closing && m.method !== undefined && m.id !== undefined) return this.relay.reject(session, id, new GatewayError("shutting_down"));
    try {
      this.#handler(session, message);
    } catch (err) {
      if (!(err instanceof GatewayError)) log("error", "MCP.Gateway", `message handling failed: ${(err as Error)?.stack ?? err}`, { clientId: session.clientId });
      this.relay.reject(session, id, toGatewayError(err));
    }
  }

  #routes(): void {
    const r = this.router;
    r.on("GET", "/health", (_req, res) => {
      const h = health(this.healthSources);
      sendJson(res, h.status, h.body);
    });
    r.on("GET", "/health/gateway", (_req, res) => {
      const h = gatewayHealth(this.healthSources);
      sendJson(res, h.status, h.body);
    });
    r.on("*", "/mcp", (req, res) => handleStreamableHttp(req, res, this.context));
    r.on("GET", "/mcp/sse", (req, res) => handleLegacySseStream(req, res, this.context));
    r.on("POST", LEGACY_POST_PATH, (req, res) => handleLegacySsePost(req, res, this.context));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Every HTTP request, whatever route serves it, runs inside the one guard (src/listeners/guard.ts).
    guarded(`${req.method} ${pathOf(req)}`, () => this.#admit(req, res), (e) => this.#answerHttp(res, e));
  }

  #admit(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const path = pathOf(req);
    const headerError = checkHeaderCount(req, this.config.current.server.max_headers_count);
    if (headerError) return sendError(res, headerError, { connection: "close" });
    const policy = this.config.current.server;
    const originError = checkOrigin(req, { host: policy.host, allowedOrigins: policy.allowed_origins, allowedHosts: policy.allowed_hosts });
    if (originError) return sendError(res, originError);
    if (this.#closing && path.startsWith("/mcp")) return sendError(res, new GatewayError("shutting_down"), { "retry-after": "1" });
    if (this.#waitReady(path)) return this.#ready.then(() => this.#route(req, res, path));
    return this.#route(req, res, path);
  }

  /**
   * The port is bound before the upstreams are up (so /health can say
   * "starting"), but MCP traffic waits for them: a client that connects
   * during start-up gets a slower first answer instead of an empty tool list
   * or resource_not_found.
   */
  #waitReady(path: string): boolean {
    return this.#starting && path.startsWith("/mcp") && !path.startsWith("/mcp/admin") && !path.startsWith("/mcp/stats") && !path.startsWith("/mcp/health");
  }

  #route(req: IncomingMessage, res: ServerResponse, path: string): void | Promise<void> {
    const { handler, params, pathKnown, error } = this.router.match(req.method ?? "GET", path);
    if (error) return sendError(res, error);
    if (!handler) {
      return pathKnown ? sendError(res, new GatewayError("method_not_allowed", { method: req.method })) : sendError(res, new GatewayError("not_found", { path }));
    }
    return handler(req, res, params);
  }

  /** What a request gets when its handler threw: the catalogue error, or the end of a response already under way. */
  #answerHttp(res: ServerResponse, e: GatewayError): void {
    if (!res.headersSent) sendError(res, e);
    else res.end();
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", ignoreError);
    // Like requests, every upgrade runs inside the one guard; a failure before the handshake gets its HTTP answer.
    guarded(`upgrade ${pathOf(req)}`, () => this.#admitUpgrade(req, socket, head), (e) => {
      if (socket.writable) refuseUpgrade(socket, e.status, { error: e.code, message: e.message });
      else socket.destroy();
    });
  }

  #admitUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void | Promise<void> {
    const path = pathOf(req);
    const policy = this.config.current.server;
    const originError = checkOrigin(req, { host: policy.host, allowedOrigins: policy.allowed_origins, allowedHosts: policy.allowed_hosts });
    const refuse = (status: number, body: object) => refuseUpgrade(socket, status, body);
    if (originError) return refuse(403, { error: originError.code, message: originError.message });
    const headerError = checkHeaderCount(req, policy.max_headers_count);
    if (headerError) return refuse(431, { error: headerError.code, message: headerError.message });
    if (this.#closing) return refuse(503, { error: "shutting_down" });
    const upgrade = this.upgradeHandlers.get(path);
    if (!upgrade) return refuse(404, { error: "not_found", path });
    if (this.#starting) return this.#ready.then(() => upgrade(req, socket, head));
    return upgrade(req, socket, head);
  }

  /** WebSocket endpoints by path (Phoenix adds `/mcp/ws/websocket`). */
  readonly upgradeHandlers = new Map<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>>([
    ["/mcp/ws", (req, socket, head) => this.websocket.upgrade(req, socket, head)],
  ]);

  /** Binds the port, then starts the upstreams and loads their lists. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const { host, port } = this.config.current.server;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.removeListener("error", reject);
        resolve();
      });
    });
    await this.otel?.ready;
    // Every upstream at once; one that stalls is left behind after routing.list_timeout (ADR 0210).
    this.firstLists = await startAndListFirst(this.manager, this.catalog, () => this.config.current.routing.list_timeout, this.config.current.routing.startup_timeout);
    this.#starting = false;
    this.#markReady();
    this.#stopExpiry = startSessionExpiry(this.registry, this.config);
    const address = this.server.address() as AddressInfo;
    return { host, port: address.port, url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}` };
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Graceful stop: refuse new work, tell WebSocket clients 1001, give calls in
   * flight up to `shutdown.drain_timeout`, then close everything.
   */
  async close(): Promise<void> {
    // Requests parked during start-up proceed (and meet the closing gateway's answers).
    this.#markReady();
    if (this.#closing) return;
    this.#closing = true;
    this.#stopExpiry?.();
    // Sessions ending below stay in the cluster's directory: their clients resume on other nodes.
    this.cluster?.draining();
    // 1. Stop accepting: no new connections; new requests on open ones get
    //    shutting_down (#onRequest, #onUpgrade, #dispatch).
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // 2. Calls in flight finish, their replies going out on the still-open
    //    connections, up to shutdown.drain_timeout (event-driven, no polling).
    //    A fifth of the budget (at most 1 s) is kept for the teardown below,
    //    so the whole shutdown fits in drain_timeout.
    const budget = this.config.current.shutdown.drain_timeout;
    const teardown = Math.min(1000, Math.floor(budget / 5));
    await waitForDrain(this.registry, this.relay, budget - teardown);
    // 3. What did not finish is answered with shutting_down, not dropped.
    failInFlight(this.registry);
    // 4. WebSocket/Phoenix clients get 1001, SSE streams a `retry:` hint, then all ends.
    this.websocket.closeAll(1001, "gateway shutting down", teardown / 2);
    this.phoenix.closeAll(1001, "gateway shutting down", teardown / 2);
    for (const session of [...this.registry.all()]) {
      session.sink?.close(1001, "gateway shutting down");
      this.registry.end(session);
    }
    this.server.closeIdleConnections?.();
    setTimeout(() => this.server.closeAllConnections?.(), teardown / 2).unref();
    await Promise.all([this.manager.close(), this.relay.clientSessions.close()]);
    await closed;
    await this.cluster?.close();
    await this.otel?.close();
  }

}

/** Creates and starts a gateway. */
export async function startGateway(config: GatewayConfig, options?: GatewayOptions): Promise<{ gateway: Gateway; url: string; port: number }> {
  const gateway = new Gateway(config, options);
  const { url, port } = await gateway.listen();
  return { gateway, url, port };
}
