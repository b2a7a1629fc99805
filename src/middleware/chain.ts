import type { Gateway } from "../gateway.js";
import type { Authenticator, ClientIdentity } from "../listeners/identity.js";
import type { IncomingMessage } from "node:http";
import { AuthService } from "./auth/auth-service.js";
import { createToolFilter } from "./auth/tool-rules.js";
import { RESOURCE_METADATA_PATHS, serveResourceMetadata } from "./auth/resource-metadata.js";
import { RateLimiter, createRateStore } from "./rate-limit/service.js";
import { rateLimitMiddleware } from "./rate-limit/middleware.js";
import { BackpressureController } from "./backpressure.js";
import { admitClient, capConnections } from "./connection-limits.js";
import { sessionAdmission } from "./session-admission.js";
import { GatewayError, toClose } from "../errors/index.js";
import type { Session } from "../session/session.js";

/**
 * The protection pipeline, in the order a client's traffic meets it. Steps
 * 1-3 guard connections, step 4 is the only per-message middleware, steps 5-6
 * sit at the edges of the relay. Each step runs before the next because:
 *
 * 1. Connection cap (`capConnections`, on the raw socket): cheapest refusal
 *    first; a flood of sockets is turned away before any parsing.
 * 2. Origin/Host check (`checkOrigin`, in Gateway#onRequest/#onUpgrade):
 *    DNS-rebinding protection must precede auth, or a hostile page could make
 *    a browser spend its credentials on us.
 * 3. Authentication (`AuthService` via ListenerContext.authenticate/verify,
 *    then `admitClient` for the per-client connection cap): identity is needed
 *    by everything after it (rate keys, tool rules, per-client caps), and a
 *    refused client must not cost a session.
 * 4. Rate limiting (`rateLimitMiddleware`, a message Middleware): per client,
 *    before any upstream work; it counts requests only, so acks, cancels and
 *    responses to server requests always get through.
 * 5. Tool authorization (`Relay.toolFilter` from `auth.tool_rules`): inside
 *    the relay, because only routing knows which tool a name resolves to and
 *    `tools/list` must be filtered as it is built.
 * 6. Backpressure (`BackpressureController`, every session's OutboundGate):
 *    on the way out, the last step before the client's socket, since it
 *    reacts to that socket's buffer and the client's acks.
 *
 * Size limits live where the bytes are read: `readBody` (HTTP, 413), ws
 * `maxPayload` (WebSocket, close 1008), and the HTTP server's header limits
 * and timeouts (431/408).
 */
export interface ProtectionHandle {
  auth: AuthService;
  rateLimiter: RateLimiter;
  backpressure: BackpressureController;
  /** Open TCP connections (for stats). */
  connections: { readonly open: number };
  /** Verifies a bare token (Phoenix joins); same errors as the HTTP path. */
  authenticateToken(token: string | undefined, req?: IncomingMessage): Promise<ClientIdentity>;
}

const installed = new WeakMap<Gateway, ProtectionHandle>();

/**
 * A WebSocket or Phoenix connection is authenticated once, at the upgrade, so
 * it must not outlive its token: at the JWT's `exp` it is closed with 1008
 * `{"error":"authentication_failed","reason":"token_expired"}` (the guide's
 * cue to refresh and reconnect). HTTP transports re-verify every request instead.
 */
function closeAtExpiry(session: Session): void {
  const exp = session.identity?.claims?.exp;
  const sink = session.sink;
  if (typeof exp !== "number" || !sink || (sink.kind !== "websocket" && sink.kind !== "phoenix")) return;
  const ms = exp * 1000 - Date.now();
  // setTimeout cannot wait longer than ~24.8 days; such tokens are re-checked on reconnect anyway.
  if (ms > 2_147_000_000) return;
  const timer = setTimeout(() => {
    if (session.sink !== sink || session.closed) return;
    session.closeReason = "token_expired";
    const { code, reason } = toClose(new GatewayError("authentication_failed", { reason: "token_expired" }));
    sink.close(code, reason);
  }, Math.max(0, ms));
  timer.unref();
  clearTimeout(expiryTimers.get(session));
  expiryTimers.set(session, timer);
}

const expiryTimers = new WeakMap<Session, NodeJS.Timeout>();

/** The protection layer of a gateway (installed by its constructor). */
export function protectionOf(gateway: Gateway): ProtectionHandle {
  const h = installed.get(gateway);
  if (!h) throw new Error("protection not installed on this gateway");
  return h;
}

/**
 * Installs authentication, the per-client connection cap, rate limiting,
 * tool rules and backpressure on a gateway, from its config. Called once from
 * the Gateway constructor; an `authenticate` passed in GatewayOptions (tests)
 * replaces the configured authentication.
 */
export function installProtection(gateway: Gateway): ProtectionHandle {
  const existing = installed.get(gateway);
  if (existing) return existing;
  const config = gateway.config;
  const ctx = gateway.context;
  // server.public_url rides along: the default audience and the origin in WWW-Authenticate come from it.
  const authSettings = { ...config.current.auth, public_url: config.current.server.public_url };
  const auth = new AuthService(authSettings);

  // 1. Total connection cap.
  const connections = capConnections(gateway.server, config);

  // 3. Authentication, then the per-client cap.
  const identify: Authenticator = gateway.options.authenticate ?? auth.authenticate;
  ctx.authenticate = async (req) => {
    const identity = await identify(req);
    admitClient(gateway.registry, config, identity.clientId);
    return identity;
  };
  const authenticateToken = async (token: string | undefined, req?: IncomingMessage) => {
    const identity = await auth.authenticateToken(token, req);
    admitClient(gateway.registry, config, identity.clientId);
    return identity;
  };
  ctx.authenticateToken = authenticateToken;
  if (!gateway.options.authenticate) ctx.verify = (req, session) => auth.verify(req, session);
  ctx.refuse = (res, err) => auth.refuse(res, err);
  ctx.challenge = (req, err) => auth.challenge(req, err);
  for (const path of RESOURCE_METADATA_PATHS) gateway.router.on("GET", path, (req, res) => serveResourceMetadata(req, res, { ...config.current.auth, public_url: config.current.server.public_url }));

  // 4. Rate limiting.
  // Under the cluster key prefix, so gateways (and test runs) sharing a Redis count apart.
  const rateLimiter = new RateLimiter(createRateStore(config.current.cluster.redis_url, `${config.current.cluster.key_prefix}:rl`), config);
  gateway.rateLimiter = rateLimiter;
  gateway.use(rateLimitMiddleware(rateLimiter, config, (s, id, err) => gateway.relay.reject(s, id, err)));
  // Session caps and the cost of a new session in the same window, before a listener creates it.
  ctx.admit = sessionAdmission(gateway.registry, config, rateLimiter);

  // 5. Tool authorization.
  const filter = createToolFilter(config.current.auth);
  if (filter) gateway.relay.toolFilter = filter;

  // 6. Backpressure on every session's way out.
  const backpressure = new BackpressureController(config);
  const connected = ctx.onConnected;
  ctx.onConnected = (session, req) => {
    session.gate ??= backpressure;
    closeAtExpiry(session);
    connected(session, req);
  };
  gateway.registry.onEnd((s) => {
    backpressure.release(s);
    clearTimeout(expiryTimers.get(s));
  });

  gateway.server.once("close", () => void rateLimiter.close());
  const handle: ProtectionHandle = { auth, rateLimiter, backpressure, connections, authenticateToken };
  installed.set(gateway, handle);
  return handle;
}
