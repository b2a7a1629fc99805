/**
 * Shared state behind small interfaces (ARCHITECTURE principle 8): each has an
 * in-memory implementation (single node, tests) and a Redis one (a cluster).
 */
export type { SessionDirectory, DirectoryEntry } from "./session-directory.js";
export { encodeEntry, decodeEntry } from "./session-directory.js";
export type { EventLog } from "./event-log.js";
export type { Bus } from "./bus.js";
export type { Membership, NodeInfo } from "./membership.js";
export type { RateStore, RateWindow, RateOverride } from "./rate-store.js";
export * from "./memory/index.js";
