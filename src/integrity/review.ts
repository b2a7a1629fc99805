import type { Pin } from "./pin-store.js";
import type { Definition, Fingerprint, PinKind } from "./fingerprint.js";
import type { Finding } from "./scanner.js";
import { atLeast } from "./scanner.js";
import { diffDefinitions } from "./definition-diff.js";
import type { Severity } from "./scan-rules.js";

/** Pinning mode of an upstream. */
export type PinMode = "off" | "record" | "enforce";
/** Scan policy of an upstream. */
export type ScanPolicy = "off" | "warn" | "block";

/**
 * Where a definition stands against its pin: `unpinned` (mode off),
 * `pinned` (matches), `changed` (differs from its pin), `renamed` (no pin
 * under this name, but a pin with the same content under a name the upstream
 * no longer lists), `new` (no pin at all).
 */
export type PinStatus = "unpinned" | "pinned" | "changed" | "renamed" | "new";

/** Why a definition is not shown to clients. */
export type WithheldReason = "changed" | "renamed" | "new" | "blocked";

/** The verdict on one definition after a refresh. */
export interface Verdict {
  status: PinStatus;
  withheld?: WithheldReason;
  renamed_from?: string;
  /** Pinned vs current, when changed or renamed. */
  diff?: string[];
  /** record mode, first sight: pin this. */
  record?: boolean;
}

/** What the verdict is computed from: pure data, so the rules are testable without a gateway. */
export interface VerdictInput {
  kind: PinKind;
  definition: Definition;
  fp: Fingerprint;
  mode: PinMode;
  scan: ScanPolicy;
  blockSeverity: Severity;
  findings: readonly Finding[];
  pin?: Pin;
  /** Pins of this upstream and kind whose names the upstream no longer lists (rename candidates). */
  orphans: readonly Pin[];
}

/**
 * The pinning and scan rules in one pure function: record pins first
 * sightings and only reports drift; enforce withholds everything not
 * matching a pin; scan: block withholds findings at the block severity
 * unless an operator approved exactly this fingerprint.
 */
export function verdictOf(input: VerdictInput): Verdict {
  const { mode, pin, fp } = input;
  let verdict: Verdict;
  if (mode === "off") verdict = { status: "unpinned" };
  else if (pin && pin.fingerprint === fp.fingerprint) verdict = { status: "pinned" };
  else if (pin) verdict = { status: "changed", diff: diffDefinitions(pin.definition, input.definition) };
  else {
    const from = input.orphans.find((o) => o.content === fp.content);
    if (from) verdict = { status: "renamed", renamed_from: from.name, diff: diffDefinitions(from.definition, input.definition) };
    else verdict = mode === "record" ? { status: "pinned", record: true } : { status: "new" };
  }
  if (mode === "enforce" && (verdict.status === "changed" || verdict.status === "renamed" || verdict.status === "new")) verdict.withheld = verdict.status;
  const accepted = pin?.scan_accepted && pin.fingerprint === fp.fingerprint;
  if (input.scan === "block" && !accepted && input.findings.some((f) => atLeast(f.severity, input.blockSeverity))) verdict.withheld = "blocked";
  return verdict;
}
