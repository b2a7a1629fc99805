import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayConfig } from "../../config/schema.js";
import { GatewayError } from "../../errors/index.js";
import { ownsSession, selfNamedIdentity, type Authenticator, type ClientIdentity } from "../../listeners/identity.js";
import type { Session } from "../../session/session.js";
import { ApiKeyVerifier } from "./api-key.js";
import { JwtVerifier } from "./jwt.js";
import { isAuthFailure, originOf, refuseHttp, wwwAuthenticate, type AuthSettings } from "./resource-metadata.js";
import { bearerToken, upgradeToken } from "./token.js";

type AuthConfig = AuthSettings;

/**
 * Client authentication for every transport: `none` (dev: clients name
 * themselves), `api_key` (static keys stored hashed) or `jwt`. Listeners call
 * `authenticate` when a session starts and `verify` on every later HTTP
 * request of it (a session id is not a credential); Phoenix joins call
 * `authenticateToken`. Failures are GatewayErrors `authentication_failed`
 * with reason `missing_token`, `invalid_token` or `token_expired`, or
 * `insufficient_scope` when `auth.required_scopes` are not all held.
 */
export class AuthService {
  readonly mode: AuthConfig["mode"];
  readonly #apiKeys?: ApiKeyVerifier;
  readonly #jwt?: JwtVerifier;

  constructor(readonly auth: AuthConfig) {
    this.mode = auth.mode;
    if (auth.mode === "api_key") this.#apiKeys = new ApiKeyVerifier(auth.api_keys);
    if (auth.mode === "jwt") this.#jwt = new JwtVerifier(auth.jwt);
  }

  /** ListenerContext.authenticate: identity at session start (HTTP header; WebSocket upgrades may use `?token=`). */
  readonly authenticate: Authenticator = (req) => {
    if (this.mode === "none") return selfNamedIdentity(req);
    return this.authenticateToken(upgradeToken(req), req);
  };

  /**
   * Verifies a bare token (Phoenix `join` params, WebSocket connect params).
   * `req`, when given, supplies the default audience (the URL the client
   * used). Mode none: the dev identity of `req`, or `anon` without one.
   */
  async authenticateToken(token: string | undefined, req?: IncomingMessage): Promise<ClientIdentity> {
    if (this.mode === "none") return req ? selfNamedIdentity(req) : { clientId: "anon", scopes: [] };
    if (!token) throw new GatewayError("authentication_failed", { reason: "missing_token" });
    const identity = this.#apiKeys ? this.#apiKeys.verify(token) : await this.#jwt!.verify(token, this.#audience(req));
    const missing = this.auth.required_scopes.filter((s) => !identity.scopes.includes(s));
    if (missing.length > 0) throw new GatewayError("insufficient_scope", { scope: missing.join(" ") });
    return identity;
  }

  /**
   * ListenerContext.verify: re-checks a later request of `session` (header
   * token only) and that the token names the session's client. Refreshes
   * `session.identity`, so renewed scopes take effect at once.
   */
  async verify(req: IncomingMessage, session: Session): Promise<GatewayError | null> {
    // Self-named clients: the same name from the same peer, else the session is reported as missing (no probing for ids).
    if (this.mode === "none") return ownsSession(selfNamedIdentity(req) as ClientIdentity, session) ? null : new GatewayError("session_not_found", { session_id: session.id });
    let identity: ClientIdentity;
    try {
      identity = await this.authenticateToken(bearerToken(req), req);
    } catch (err) {
      return err instanceof GatewayError ? err : new GatewayError("authentication_failed", { reason: "invalid_token" });
    }
    if (identity.clientId !== session.clientId) return new GatewayError("authentication_failed", { reason: "invalid_token", detail: "token belongs to another client" });
    session.identity = identity;
    return null;
  }

  /** ListenerContext.refuse: 401/403 with WWW-Authenticate and the guide's body. */
  refuse(res: ServerResponse, err: GatewayError): void {
    refuseHttp(res, err, this.auth);
  }

  /** ListenerContext.challenge: the same WWW-Authenticate as `refuse`, for refused WebSocket upgrades. */
  challenge(req: IncomingMessage, err: GatewayError): string | undefined {
    return isAuthFailure(err) ? wwwAuthenticate(req, err, this.auth) : undefined;
  }

  #audience(req: IncomingMessage | undefined): string | string[] {
    if (this.auth.jwt.audience) return this.auth.jwt.audience;
    if (this.auth.public_url) return [`${originOf(req!, this.auth.public_url)}/mcp`, originOf(req!, this.auth.public_url)];
    if (!req) throw new GatewayError("authentication_failed", { reason: "invalid_token", detail: "set auth.jwt.audience to verify tokens without a request" });
    // RFC 8707: the resource is this gateway; accept its origin or its MCP endpoint URL. Outside dev the
    // config requires auth.jwt.audience or server.public_url, so the client's Host never decides this.
    const origin = originOf(req, this.auth.public_url);
    return [`${origin}/mcp`, origin];
  }
}
