import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { GatewayError } from "../../errors/index.js";
import type { ClientIdentity } from "../../listeners/identity.js";
import { scopesOf } from "./token.js";

/** The `auth.jwt` config section. */
export interface JwtSettings {
  secret?: string;
  jwks_file?: string;
  jwks_url?: string;
  issuer?: string;
  audience?: string;
  clock_tolerance: number;
  /** Refuse tokens without `exp` (default true). */
  require_exp?: boolean;
}

/** Verified tokens kept this long at most (their own `exp` still wins). */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;

/**
 * JWT bearer tokens, verified with `jose`: HS256 with a shared secret, or
 * RS256/ES256 with keys from a JWKS file or URL (fetched and cached by jose).
 * `exp` (required unless `require_exp: false`), `nbf`, `iss` and `aud` are checked; the subject is the client_id.
 * Verified tokens are cached (bounded, until `exp`) because every request of a
 * session re-presents its token and signature checks are the costly part.
 */
export class JwtVerifier {
  readonly #key: Uint8Array | JWTVerifyGetKey;
  readonly #algorithms: string[];
  readonly #cache = new Map<string, { identity: ClientIdentity; until: number; audience: string }>();

  constructor(readonly settings: JwtSettings) {
    if (settings.secret) {
      this.#key = new TextEncoder().encode(settings.secret);
      this.#algorithms = ["HS256"];
    } else if (settings.jwks_file) {
      this.#key = createLocalJWKSet(JSON.parse(readFileSync(settings.jwks_file, "utf8")));
      this.#algorithms = ["RS256", "ES256"];
    } else if (settings.jwks_url) {
      this.#key = createRemoteJWKSet(new URL(settings.jwks_url));
      this.#algorithms = ["RS256", "ES256"];
    } else {
      throw new Error("auth.jwt: set secret, jwks_file or jwks_url");
    }
  }

  /**
   * Verifies a token for `audience` (the configured one wins over the
   * per-request default). Throws authentication_failed with reason
   * token_expired or invalid_token.
   */
  async verify(token: string, audience: string | string[]): Promise<ClientIdentity> {
    const audKey = Array.isArray(audience) ? audience.join(" ") : audience;
    const now = Date.now();
    const hit = this.#cache.get(token);
    if (hit && hit.audience === audKey) {
      if (hit.until > now) return hit.identity;
      this.#cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key as JWTVerifyGetKey, {
        algorithms: this.#algorithms,
        issuer: this.settings.issuer,
        audience,
        clockTolerance: this.settings.clock_tolerance,
        // A token without exp would be valid forever (and cached as such): refused unless require_exp is false.
        requiredClaims: this.settings.require_exp === false ? ["sub"] : ["sub", "exp"],
      }));
    } catch (err) {
      const reason = err instanceof errors.JWTExpired ? "token_expired" : "invalid_token";
      throw new GatewayError("authentication_failed", { reason }, { cause: err });
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 256) {
      throw new GatewayError("authentication_failed", { reason: "invalid_token" });
    }
    const identity: ClientIdentity = Object.freeze({ clientId: payload.sub, scopes: Object.freeze(scopesOf(payload)), claims: Object.freeze({ ...payload }) });
    const until = Math.min(now + CACHE_TTL_MS, typeof payload.exp === "number" ? payload.exp * 1000 : Infinity);
    if (this.#cache.size >= CACHE_MAX) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(token, { identity, until, audience: audKey });
    return identity;
  }
}
