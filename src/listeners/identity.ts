import type { IncomingMessage } from "node:http";
import { queryOf } from "./http-util.js";

/** Who a client is, as established at connect time. */
export interface ClientIdentity {
  clientId: string;
  scopes: readonly string[];
  claims?: Record<string, unknown>;
  /** Nobody named this client (dev profile, no client_id): its id is only its address, shared by every local app. */
  anonymous?: boolean;
  /**
   * What, besides the client id, a session of this identity is bound to. Set
   * for self-named (dev, auth none) clients, whose name proves nothing: the
   * peer address that created the session. Verified identities (API key,
   * JWT) need none: the credential is the proof.
   */
  binding?: string;
}

/**
 * True when `identity` may operate on `session` (post on it, open its GET
 * stream, delete it, resume it): the same client and, for a self-named
 * client, the same binding as the identity that created the session.
 */
export function ownsSession(identity: ClientIdentity, session: { clientId: string; identity?: ClientIdentity }): boolean {
  if (identity.clientId !== session.clientId) return false;
  const bound = session.identity?.binding;
  return bound === undefined || bound === identity.binding;
}

/**
 * Establishes the client's identity for a request or upgrade; throws a
 * GatewayError (authentication_failed, ...) to refuse it. The auth layer
 * provides the real one; this default is the dev profile's.
 */
export type Authenticator = (req: IncomingMessage) => ClientIdentity | Promise<ClientIdentity>;

const CLIENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** A self-named client holds no scopes: one frozen empty list for all of them, not an array per session. */
const NO_SCOPES: readonly string[] = Object.freeze([]);

/**
 * Dev profile (auth mode none): a client names itself with `client_id` in the
 * query or `X-Client-Id`; otherwise it is known by its address.
 */
export const selfNamedIdentity: Authenticator = (req) => {
  const named = queryOf(req).get("client_id") ?? (req.headers["x-client-id"] as string | undefined);
  const address = req.socket.remoteAddress ?? "unknown";
  const clientId = named && CLIENT_ID.test(named) ? named : `anon-${address}`;
  // A name anyone can claim: the session is also bound to the peer that created it.
  const identity: ClientIdentity = { clientId, scopes: NO_SCOPES, binding: `addr:${address}` };
  if (clientId !== named) identity.anonymous = true;
  return identity;
};
