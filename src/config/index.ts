export * from "./schema.js";
export { loadConfig, validateConfig, ConfigError, formatIssues, deepFreeze, isLoopbackHost, DEFAULT_LOG_DIR, type LoadOptions } from "./load.js";
export { ConfigStore, RELOADABLE_PREFIXES, type ConfigChange } from "./store.js";
export { DEV_ADMIN_TOKEN, embeddedDefaults } from "./defaults.js";
export { redactConfig, redactText, REDACTED } from "./redact.js";
