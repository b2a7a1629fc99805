import type { Definition, PinKind } from "./fingerprint.js";

/** How a pin came to be: first seen (record), an operator's approval, or `tools pin --all`. */
export type PinSource = "record" | "approve" | "pin_all";

/** One approved definition: what the model may be shown for `upstream`'s `name`. */
export interface Pin {
  upstream: string;
  kind: PinKind;
  /** The upstream-side name (not the exposed `<upstream>__<name>`). */
  name: string;
  /** `sha256:` over the JCS form of the model-read fields (fingerprint.ts). */
  fingerprint: string;
  /** The same without the name (renames keep it). */
  content: string;
  /** The model-read fields themselves, so a diff can be shown after a restart and the file reviewed in git. */
  definition: Definition;
  /** ISO time of pinning. */
  pinned_at: string;
  by: PinSource;
  /** An operator approved this fingerprint despite its scan findings (scan: block lets it through). */
  scan_accepted?: boolean;
}

/** The identity of a pin: upstream, kind and upstream-side name. */
export function pinKey(upstream: string, kind: PinKind, name: string): string {
  return JSON.stringify([upstream, kind, name]);
}

/**
 * Where pins live (ARCHITECTURE principle 8: a small interface, two
 * implementations passing one contract test, test/integrity/pin-store.test.ts):
 * a file by default (reviewable in git), Redis in a cluster so every node
 * enforces the same approvals.
 */
export interface PinStore {
  readonly kind: "file" | "redis";
  /** Every pin. */
  load(): Promise<Pin[]>;
  /** Adds or replaces the pin of (upstream, kind, name). */
  put(pin: Pin): Promise<void>;
  delete(upstream: string, kind: PinKind, name: string): Promise<void>;
  /** Called when pins changed elsewhere (another node approved); the listener reloads. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}
