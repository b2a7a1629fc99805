import type { IncomingMessage } from "node:http";
import { queryOf } from "./http-util.js";

/** Who a client is, as established at connect time. */
export interface ClientIdentity {
  clientId: string;
  scopes: readonly string[];
  claims?: Record<string, unknown>;
  /** Nobody named this client (dev profile, no client_id): its id is only its address, shared by every local app. */
  anonymous?: boolean;
}

/**
 * Establishes the client's identity for a request or upgrade; throws a
 * GatewayError (authentication_failed, ...) to refuse it. The auth layer
 * provides the real one; this default is the dev profile's.
 */
export type Authenticator = (req: IncomingMessage) => ClientIdentity | Promise<ClientIdentity>;

const CLIENT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/**
 * Dev profile (auth mode none): a client names itself with `client_id` in the
 * query or `X-Client-Id`; otherwise it is known by its address.
 */
export const selfNamedIdentity: Authenticator = (req) => {
  const named = queryOf(req).get("client_id") ?? (req.headers["x-client-id"] as string | undefined);
  if (named && CLIENT_ID.test(named)) return { clientId: named, scopes: [] };
  return { clientId: `anon-${req.socket.remoteAddress ?? "unknown"}`, scopes: [], anonymous: true };
};
