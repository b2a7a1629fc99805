import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayConfig } from "../../config/schema.js";
import type { GatewayError } from "../../errors/index.js";
import { sendError, sendJson } from "../../listeners/http-util.js";

/** Where the protected-resource metadata is served (RFC 9728 section 3, plus the `/mcp` path-suffixed form). */
export const RESOURCE_METADATA_PATHS = ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] as const;

/** A Host header value that is a plain host name or IP literal with an optional port (nothing to inject). */
const VALID_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The auth settings plus where the gateway is publicly reachable (`server.public_url`). */
export type AuthSettings = GatewayConfig["auth"] & { public_url?: string };

/**
 * `http(s)://host` of the gateway. `server.public_url` when configured (the
 * only source outside dev for anything security-relevant); else the request's
 * Host header, used only when it is a plain host[:port] (a value such as
 * `127.0.0.1:1", error="injected"` falls back to `localhost`), with https only
 * on a TLS socket or `X-Forwarded-Proto: https`.
 */
export function originOf(req: IncomingMessage, publicUrl?: string): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const forwarded = req.headers["x-forwarded-proto"];
  const proto = encrypted || forwarded === "https" ? "https" : "http";
  const host = req.headers.host;
  return `${proto}://${typeof host === "string" && VALID_HOST.test(host) ? host : "localhost"}`;
}

/**
 * The resource identifier of this gateway (RFC 8707): `auth.jwt.audience` when
 * configured, else the MCP endpoint URL (`server.public_url`, or in dev the
 * validated Host's URL).
 */
export function resourceOf(req: IncomingMessage, auth: AuthSettings): string {
  return auth.jwt.audience ?? `${originOf(req, auth.public_url)}/mcp`;
}

/** A value made safe inside an RFC 7230 quoted-string: no quotes, backslashes or control characters. */
export function quoted(value: string): string {
  return value.replace(/[\\"\x00-\x1f\x7f]/g, "");
}

/** Scopes worth announcing: required ones plus every scope the tool rules mention. */
export function scopesSupported(auth: GatewayConfig["auth"]): string[] {
  const set = new Set(auth.required_scopes);
  for (const r of auth.tool_rules) for (const s of [...(r.allow_scopes ?? []), ...(r.deny_scopes ?? [])]) set.add(s);
  return [...set];
}

/** RFC 9728 protected-resource metadata for this gateway. */
export function resourceMetadata(req: IncomingMessage, auth: AuthSettings): Record<string, unknown> {
  return {
    resource: resourceOf(req, auth),
    authorization_servers: auth.authorization_servers,
    scopes_supported: scopesSupported(auth),
    bearer_methods_supported: ["header"],
    resource_name: "mcp-gateway",
  };
}

/** Serves the metadata document (GET, public, cacheable for a minute). */
export function serveResourceMetadata(req: IncomingMessage, res: ServerResponse, auth: AuthSettings): void {
  sendJson(res, 200, resourceMetadata(req, auth), { "cache-control": "public, max-age=60" });
}

/** `WWW-Authenticate` value for an auth failure (RFC 6750 section 3 + RFC 9728 section 5.1). */
export function wwwAuthenticate(req: IncomingMessage, err: GatewayError, auth: AuthSettings): string {
  const metadata = `${originOf(req, auth.public_url)}${RESOURCE_METADATA_PATHS[1]}`;
  let value = `Bearer resource_metadata="${quoted(metadata)}"`;
  if (err.code === "insufficient_scope") {
    value += `, error="insufficient_scope", scope="${quoted(String(err.details.scope ?? auth.required_scopes.join(" ")))}"`;
  } else if (err.details.reason === "invalid_token" || err.details.reason === "token_expired") {
    // RFC 6750: a presented token that fails is invalid_token; a missing one gets no error code.
    value += `, error="invalid_token", error_description="${err.details.reason}"`;
  }
  const scopes = auth.required_scopes;
  if (err.code !== "insufficient_scope" && scopes.length > 0) value += `, scope="${quoted(scopes.join(" "))}"`;
  return value;
}

/**
 * The failure body of the guide: `{"error":"authentication_failed","reason":...,"retry_after":null}`.
 * Shared by every transport that can carry a body (HTTP, the WebSocket upgrade refusal, Phoenix joins).
 */
export function authFailureBody(err: GatewayError): { error: string; reason: string | null; retry_after: number | null } {
  const reason = err.details.reason;
  const retry = err.details.retry_after;
  return { error: err.code, reason: typeof reason === "string" ? reason : null, retry_after: typeof retry === "number" ? retry : null };
}

/** An error answered with a `WWW-Authenticate` challenge (401 authentication_failed, 403 insufficient_scope). */
export function isAuthFailure(err: GatewayError): boolean {
  return err.code === "authentication_failed" || err.code === "insufficient_scope";
}

/**
 * Answers a refused HTTP request: 401/403 with WWW-Authenticate and the
 * guide's body for auth failures, the catalogue body for anything else.
 */
export function refuseHttp(res: ServerResponse, err: GatewayError, auth: AuthSettings): void {
  if (!isAuthFailure(err)) return sendError(res, err);
  sendJson(res, err.status, authFailureBody(err), { "www-authenticate": wwwAuthenticate(res.req, err, auth) });
}
