export { RedisLink, RedisKeys } from "./connection.js";
export { RedisBus } from "./bus.js";
export { RedisSessionDirectory } from "./session-directory.js";
export { RedisEventLog, type RedisEventLogOptions } from "./event-log.js";
export { RedisMembership } from "./membership.js";
export { RedisRateStore } from "./rate-store.js";
