/** Tool integrity: pinning, drift, the poisoned-description scan, client-safe names (docs/integrity.md). */
export { canonicalJson } from "./canonical-json.js";
export { fingerprintOf, modelView, PIN_KINDS, MODEL_FIELDS, type PinKind, type Definition, type Fingerprint } from "./fingerprint.js";
export { shortenName, CLIENT_NAME_PATTERN, DEFAULT_MAX_NAME_LENGTH } from "./name-shortener.js";
export { SCAN_RULES, type ScanRule, type Severity } from "./scan-rules.js";
export { scanDefinition, type Finding } from "./scanner.js";
export { diffDefinitions } from "./definition-diff.js";
export { verdictOf, type PinMode, type PinStatus, type ScanPolicy } from "./review.js";
export type { Pin, PinStore } from "./pin-store.js";
export { FilePinStore } from "./file-pin-store.js";
export { RedisPinStore } from "./redis-pin-store.js";
export { IntegrityService, type ReviewedItem, type IntegrityFigures } from "./integrity-service.js";
export { installIntegrity, createPinStore, type IntegrityDeps } from "./install.js";
