import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import type { GatewayError } from "../errors/index.js";
import type { ConfigStore } from "../config/store.js";
import type { Session } from "../session/session.js";
import type { SessionRegistry } from "../session/registry.js";
import type { Authenticator, ClientIdentity } from "./identity.js";
import type { ClientTransportKind } from "../telemetry/channels.js";
import type { CallerContext } from "../protocol/caller-context.js";
import type { ModernWire } from "../eras/modern/wire.js";

/** Where a connection comes from (a socket is one). */
export interface PeerAddress {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/**
 * What every listener needs from the gateway, injected so listeners stay
 * ignorant of auth, rate limiting and the relay behind `dispatch`.
 */
export interface ListenerContext {
  config: ConfigStore;
  registry: SessionRegistry;
  /** Establishes identity when a session starts. */
  authenticate: Authenticator;
  /**
   * Verifies a bare token where no HTTP request carries it (Phoenix channel
   * joins, `socket.params.token`): resolves the identity or throws
   * GatewayError authentication_failed {reason} (installed by src/middleware/chain.ts).
   */
  authenticateToken?(token: string | undefined, req?: IncomingMessage): Promise<ClientIdentity>;
  /**
   * Admits one new session of `identity` (session caps, and its cost in the
   * rate limiter); throws a GatewayError (too_many_sessions,
   * rate_limit_exceeded) to refuse it. Called before anything is created;
   * resumes do not call it. Installed by src/middleware/chain.ts.
   */
  admit?(identity: ClientIdentity): Promise<void>;
  /** Re-verifies a later request of an existing session; null when fine. */
  verify(req: IncomingMessage, session: Session): Promise<GatewayError | null> | GatewayError | null;
  /** Answers an auth failure the way the auth layer wants (401 + WWW-Authenticate, ...). */
  refuse(res: ServerResponse, err: GatewayError): void;
  /**
   * The `WWW-Authenticate` value for an auth failure where `refuse` cannot be
   * used (a refused WebSocket upgrade writes its response on the raw socket);
   * undefined for other errors, or when no auth layer is installed.
   */
  challenge?(req: IncomingMessage, err: GatewayError): string | undefined;
  /** Hands one parsed client message (of a legacy session or a modern request) to the middleware chain and the relay. */
  dispatch(caller: CallerContext, message: JsonRpcMessage): void;
  /**
   * Telemetry only, absent when it is off (src/telemetry/otel/): a parsed
   * request was refused at the HTTP edge before any session took it
   * (authentication, session caps, an unknown session, a bad envelope).
   * `answer` is the JSON-RPC error it got; `clientId` when it is known.
   */
  onRefused?(req: IncomingMessage, refusal: EdgeRefusal): void;
  /** A client connection opened, from `peer` (its socket's address): not the request, so no listener keeps one for it. */
  onConnected(session: Session, peer: PeerAddress): void;
  /**
   * A client connection closed (closeCode for WebSocket; 1006 when it
   * vanished). `transport`: the closed connection's, when the session already
   * moved to another one.
   */
  onDisconnected(session: Session, closeCode?: number, reason?: string, transport?: ClientTransportKind): void;
  /** A session resumed from an event id (telemetry, transport switch detection). */
  onResume?(session: Session, lastSeq: number, res?: ServerResponse): void;
  /** The modern (2026-07-28) wire on /mcp (src/eras/modern/); absent: modern requests are refused. */
  modern?: ModernWire;
  /** Cluster mode (src/cluster/): finds sessions this node does not hold. Absent on a single node. */
  cluster?: SessionLocator;
}

/** A request refused at the HTTP edge (ListenerContext.onRefused). */
export interface EdgeRefusal {
  transport: ClientTransportKind;
  message: unknown;
  answer: JsonRpcMessage;
  clientId?: string;
}

/**
 * Serves requests naming a session that is not in this node's registry.
 * Listeners call it only on a local miss, so a single node pays nothing.
 */
export interface SessionLocator {
  /**
   * An HTTP request names session `id`: forwards the whole request to the
   * node that owns it (resolves true: answered), or adopts the session here
   * (resolves false: look it up again; still missing means unknown).
   * `local` re-runs the listener on a copy of the request when the body had
   * to be read before the owner turned out to be gone.
   */
  claim(id: string, req: IncomingMessage, res: ServerResponse, local: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<boolean>;
  /** Adopts session `id` here (WebSocket/Phoenix resume, which cannot be forwarded): true when it is now local. */
  adopt(id: string): Promise<boolean>;
  /** This node's id on the cluster bus (MRTR requestState names the node holding a bridged call). */
  readonly nodeId: string;
  /**
   * Ships a whole HTTP request (body already read) to `node`, which answers
   * it with its ordinary listeners: "forwarded", "gone" (nobody listens: the
   * node died) or "unreachable" (the bus is down). One hop at most: a
   * forwarded request carries a marker header (see `forwarded`).
   */
  forwardTo(node: string, req: IncomingMessage, res: ServerResponse, body: string): Promise<"forwarded" | "gone" | "unreachable">;
  /** True for a request another node forwarded here (never forwarded again). */
  forwarded(req: IncomingMessage): boolean;
}
