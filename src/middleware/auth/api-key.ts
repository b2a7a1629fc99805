import { createHash, timingSafeEqual } from "node:crypto";
import { GatewayError } from "../../errors/index.js";
import type { ClientIdentity } from "../../listeners/identity.js";

/** One configured API key: the sha256 hex of the key, never the key itself. */
export interface ApiKeyEntry {
  sha256: string;
  client_id: string;
  scopes: readonly string[];
}

/** sha256 of a string as a Buffer. */
export function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Static API keys, stored hashed. A presented key is hashed and compared with
 * every stored digest in constant time (`timingSafeEqual`), and the loop never
 * exits early, so response time says nothing about which key came close.
 */
export class ApiKeyVerifier {
  readonly #entries: Array<{ digest: Buffer; identity: ClientIdentity }>;

  constructor(keys: readonly ApiKeyEntry[]) {
    this.#entries = keys.map((k) => ({
      digest: Buffer.from(k.sha256, "hex"),
      identity: Object.freeze({ clientId: k.client_id, scopes: Object.freeze([...k.scopes]), claims: Object.freeze({ sub: k.client_id, auth: "api_key" }) }),
    }));
  }

  /** The identity of a key, or throws authentication_failed (invalid_token). */
  verify(key: string): ClientIdentity {
    const digest = sha256(key);
    let found: ClientIdentity | undefined;
    for (const e of this.#entries) if (timingSafeEqual(e.digest, digest) && !found) found = e.identity;
    if (!found) throw new GatewayError("authentication_failed", { reason: "invalid_token" });
    return found;
  }
}
