import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayConfig } from "../../config/schema.js";
import type { GatewayError } from "../../errors/index.js";
import { sendError, sendJson } from "../../listeners/http-util.js";

/** Where the protected-resource metadata is served (RFC 9728 section 3, plus the `/mcp` path-suffixed form). */
export const RESOURCE_METADATA_PATHS = ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] as const;

/** `http(s)://host` of a request, as the client addressed the gateway. */
export function originOf(req: IncomingMessage): string {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const forwarded = req.headers["x-forwarded-proto"];
  const proto = encrypted || forwarded === "https" ? "https" : "http";
  return `${proto}://${req.headers.host ?? "localhost"}`;
}

/**
 * The resource identifier of this gateway (RFC 8707): `auth.jwt.audience` when
 * configured, else the MCP endpoint URL as the client addressed it.
 */
export function resourceOf(req: IncomingMessage, auth: GatewayConfig["auth"]): string {
  return auth.jwt.audience ?? `${originOf(req)}/mcp`;
}

/** Scopes worth announcing: required ones plus every scope the tool rules mention. */
export function scopesSupported(auth: GatewayConfig["auth"]): string[] {
  const set = new Set(auth.required_scopes);
  for (const r of auth.tool_rules) for (const s of [...(r.allow_scopes ?? []), ...(r.deny_scopes ?? [])]) set.add(s);
  return [...set];
}

/** RFC 9728 protected-resource metadata for this gateway. */
export function resourceMetadata(req: IncomingMessage, auth: GatewayConfig["auth"]): Record<string, unknown> {
  return {
    resource: resourceOf(req, auth),
    authorization_servers: auth.authorization_servers,
    scopes_supported: scopesSupported(auth),
    bearer_methods_supported: ["header"],
    resource_name: "mcp-gateway",
  };
}

/** Serves the metadata document (GET, public, cacheable for a minute). */
export function serveResourceMetadata(req: IncomingMessage, res: ServerResponse, auth: GatewayConfig["auth"]): void {
  sendJson(res, 200, resourceMetadata(req, auth), { "cache-control": "public, max-age=60" });
}

/** `WWW-Authenticate` value for an auth failure (RFC 6750 section 3 + RFC 9728 section 5.1). */
export function wwwAuthenticate(req: IncomingMessage, err: GatewayError, auth: GatewayConfig["auth"]): string {
  const metadata = `${originOf(req)}${RESOURCE_METADATA_PATHS[1]}`;
  let value = `Bearer resource_metadata="${metadata}"`;
  if (err.code === "insufficient_scope") {
    value += `, error="insufficient_scope", scope="${String(err.details.scope ?? auth.required_scopes.join(" "))}"`;
  } else if (err.details.reason === "invalid_token" || err.details.reason === "token_expired") {
    // RFC 6750: a presented token that fails is invalid_token; a missing one gets no error code.
    value += `, error="invalid_token", error_description="${err.details.reason}"`;
  }
  const scopes = auth.required_scopes;
  if (err.code !== "insufficient_scope" && scopes.length > 0) value += `, scope="${scopes.join(" ")}"`;
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
export function refuseHttp(res: ServerResponse, err: GatewayError, auth: GatewayConfig["auth"]): void {
  if (!isAuthFailure(err)) return sendError(res, err);
  sendJson(res, err.status, authFailureBody(err), { "www-authenticate": wwwAuthenticate(res.req, err, auth) });
}
