/**
 * Sealed tokens: state a client must hand back (MRTR `requestState`, task
 * ids, cursors) travels inside the token, encrypted and authenticated with
 * AES-256-GCM, so any gateway node holding the key can open it and nobody
 * can read or forge it. Each token names its upstream, so a retry routes
 * back there without a lookup. See docs/adr/0140-caller-context-and-eras.md.
 *
 * Format: `g1.` + base64url(iv[12] | tag[16] | ciphertext). The purpose is
 * the additional authenticated data: a task id never opens as a requestState.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { GatewayError } from "../errors/index.js";

/** What a sealed token is for (bound into the token). */
export type SealPurpose = "request_state" | "task_id" | "cursor";

/** Every sealed payload names the upstream it belongs to. */
export interface SealedPayload {
  /** The upstream (config name) the state belongs to. */
  upstream: string;
}

const PREFIX = "g1.";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Opened tokens are bounded so a client cannot make every node decrypt megabytes. */
const MAX_TOKEN_CHARS = 256 * 1024;

/**
 * Turns a configured key into 32 bytes: 64 hex digits or base64 of 32 bytes
 * are used as they are; any other string is hashed (SHA-256), so an operator
 * can use a passphrase. Throws on an empty key.
 */
export function keyFromConfig(key: string): Buffer {
  if (!key) throw new Error("sealing key must not be empty");
  if (/^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, "hex");
  const b64 = /^[A-Za-z0-9+/_-]{43}=?$/.test(key) ? Buffer.from(key, "base64") : undefined;
  if (b64 && b64.length === 32) return b64;
  return createHash("sha256").update(key, "utf8").digest();
}

/** Seals and opens tokens with one AES-256-GCM key. */
export class Sealer {
  readonly #key: Buffer;
  readonly #now: () => number;

  /** `key`: 32 bytes (see keyFromConfig); omitted: a random key (valid on this process only). */
  constructor(key?: Buffer, now: () => number = Date.now) {
    this.#key = key ?? randomBytes(32);
    if (this.#key.length !== 32) throw new Error("sealing key must be 32 bytes");
    this.#now = now;
  }

  /** Seals `payload` for `purpose`; `ttlMs` bounds how long the token opens (omitted: no expiry). */
  seal<T extends SealedPayload>(purpose: SealPurpose, payload: T, ttlMs?: number): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(purpose, "utf8"));
    const body = ttlMs === undefined ? payload : { ...payload, exp: this.#now() + ttlMs };
    const ct = Buffer.concat([cipher.update(JSON.stringify(body), "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64url");
  }

  /**
   * Opens a token sealed for `purpose`. Throws GatewayError `sealed_state_invalid`
   * (JSON-RPC -32602, HTTP 400) for anything tampered, foreign (another key or
   * purpose), malformed or expired; the reason says which, never the contents.
   */
  open<T extends SealedPayload>(purpose: SealPurpose, token: unknown): T {
    const fail = (reason: string) => new GatewayError("sealed_state_invalid", { purpose, reason });
    if (typeof token !== "string" || !token.startsWith(PREFIX)) throw fail("not a token this gateway issued");
    if (token.length > MAX_TOKEN_CHARS) throw fail("too long");
    const raw = Buffer.from(token.slice(PREFIX.length), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES + 2) throw fail("truncated");
    let json: string;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(purpose, "utf8"));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      json = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      throw fail("integrity check failed (tampered, or sealed by another key)");
    }
    const payload = JSON.parse(json) as T & { exp?: number };
    if (typeof payload.exp === "number" && payload.exp < this.#now()) throw fail("expired");
    if (typeof payload.upstream !== "string") throw fail("names no upstream");
    return payload;
  }
}
