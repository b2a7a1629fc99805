export { MemorySessionDirectory } from "./session-directory.js";
export { MemoryEventLog } from "./event-log.js";
export { MemoryBus } from "./bus.js";
export { MemoryMembership } from "./membership.js";
export { MemoryRateStore } from "./rate-store.js";
