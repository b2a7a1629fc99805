import { readFileSync } from "node:fs";
import type * as Jose from "jose";
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from "jose";
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

/**
 * jose is ESM-only, so it cannot be required on demand: it is imported by the first JwtVerifier (at start-up of a
 * gateway with JWT auth), and a gateway without JWT auth never loads it, nor the WebCrypto it pulls in
 * (docs/adr/0200-memory-per-idle-session.md, start-up).
 */
let josePackage: Promise<typeof Jose> | undefined;
function loadJose(): Promise<typeof Jose> {
  return (josePackage ??= import("jose"));
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
  /** The HS256 secret, or the key set once jose is loaded (made by #makeKey). */
  #key?: Uint8Array | JWTVerifyGetKey;
  /** Makes the key set from a JWKS (file read and checked at construction, as before) or URL. */
  #makeKey?: (jose: typeof Jose) => JWTVerifyGetKey;
  readonly #algorithms: string[];
  readonly #jose: Promise<typeof Jose>;
  readonly #cache = new Map<string, { identity: ClientIdentity; until: number; audience: string }>();

  constructor(readonly settings: JwtSettings) {
    if (settings.secret) {
      this.#key = new TextEncoder().encode(settings.secret);
      this.#algorithms = ["HS256"];
    } else if (settings.jwks_file) {
      const jwks = JSON.parse(readFileSync(settings.jwks_file, "utf8")) as JSONWebKeySet;
      // What createLocalJWKSet checks first, so a malformed file still fails at start-up.
      if (!isJwksLike(jwks)) throw new Error(`auth.jwt.jwks_file: ${settings.jwks_file} is not a JSON Web Key Set`);
      this.#makeKey = (jose) => jose.createLocalJWKSet(jwks);
      this.#algorithms = ["RS256", "ES256"];
    } else if (settings.jwks_url) {
      const url = new URL(settings.jwks_url);
      this.#makeKey = (jose) => jose.createRemoteJWKSet(url);
      this.#algorithms = ["RS256", "ES256"];
    } else {
      throw new Error("auth.jwt: set secret, jwks_file or jwks_url");
    }
    this.#jose = loadJose();
    // A failed import surfaces as the first verify's rejection, not as an unhandled one.
    this.#jose.catch(() => {});
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
    const jose = await this.#jose;
    this.#key ??= this.#makeKey!(jose);
    try {
      ({ payload } = await jose.jwtVerify(token, this.#key as JWTVerifyGetKey, {
        algorithms: this.#algorithms,
        issuer: this.settings.issuer,
        audience,
        clockTolerance: this.settings.clock_tolerance,
        // A token without exp would be valid forever (and cached as such): refused unless require_exp is false.
        requiredClaims: this.settings.require_exp === false ? ["sub"] : ["sub", "exp"],
      }));
    } catch (err) {
      const reason = err instanceof jose.errors.JWTExpired ? "token_expired" : "invalid_token";
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

/** A JSON Web Key Set's shape: an object with an array of key objects. */
function isJwksLike(v: unknown): v is JSONWebKeySet {
  const keys = (v as { keys?: unknown } | null)?.keys;
  return typeof v === "object" && v !== null && Array.isArray(keys) && keys.every((k) => typeof k === "object" && k !== null && !Array.isArray(k));
}
