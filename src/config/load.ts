import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type * as Yaml from "yaml";
import type { z } from "zod";
import { requireForgettable } from "../lazy-packages.js";
import { configSchemas, type GatewayConfig, type GatewayConfigInput } from "./schema.js";
import { DEV_ADMIN_TOKEN, embeddedDefaults } from "./defaults.js";

/** Raised for a config that cannot be used; the message names the bad key. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(message: string, readonly issues: string[] = []) {
    super(message);
  }
}

/** Options of loadConfig: an explicit file, CLI overrides, and the environment to read. */
export interface LoadOptions {
  /** YAML file path; falls back to MCP_GATEWAY_CONFIG, then the embedded defaults. */
  file?: string;
  /** Values that win over the file (CLI flags). */
  overrides?: { port?: number; host?: string; allowDevToken?: boolean };
  /** Environment (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Formats zod issues as `key.path: message` lines an operator can act on. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    let path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      const keys = (issue as { keys: string[] }).keys;
      return keys.map((k) => `${path ? path + "." : ""}${k}: unknown key`).join("\n");
    }
    return `${path || "(root)"}: ${issue.message}`;
  });
}

/** Validates raw input into a frozen config, or throws ConfigError naming each bad key. */
export function validateConfig(input: unknown): GatewayConfig {
  const result = configSchemas().configSchema.safeParse(input ?? {});
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`invalid configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  const config = result.data;
  applyProfileRules(config);
  return deepFreeze(config);
}

/**
 * Secure by default: dev may use the well-known admin token and must bind
 * loopback unless told otherwise; every other profile refuses default secrets.
 */
function applyProfileRules(config: GatewayConfig): void {
  // Outside dev the log directory must not depend on where the process was started from.
  config.logging.dir ??= config.profile === "dev" ? "logs" : DEFAULT_LOG_DIR;
  if (config.logging.dir && !isAbsolute(config.logging.dir)) config.logging.dir = resolve(config.logging.dir);
  if (config.profile === "dev") {
    config.admin.token ??= DEV_ADMIN_TOKEN;
    if (config.admin.token === DEV_ADMIN_TOKEN && !isLoopbackHost(config.server.host) && !config.admin.allow_dev_token_on_network) {
      throw new ConfigError(
        `admin.token: the dev profile's well-known token "${DEV_ADMIN_TOKEN}" would be served on server.host ${config.server.host}, reachable from the network. ` +
          "Set admin.token (or MCP_GATEWAY_ADMIN_TOKEN) to a secret, bind 127.0.0.1, or opt in with --allow-dev-token (admin.allow_dev_token_on_network: true)",
      );
    }
    return;
  }
  if (!config.admin.token) throw new ConfigError(`admin.token: required in the ${config.profile} profile (set MCP_GATEWAY_ADMIN_TOKEN)`);
  if (config.admin.token === DEV_ADMIN_TOKEN) throw new ConfigError(`admin.token: the default "${DEV_ADMIN_TOKEN}" is refused outside the dev profile`);
  if (config.admin.token.length < 16) throw new ConfigError("admin.token: use at least 16 characters outside the dev profile");
  if (config.profile === "prod" && config.auth.mode === "none") throw new ConfigError('auth.mode: "none" is only allowed in the dev and test profiles');
  // The audience must not follow the client's Host / X-Forwarded-Proto: a token for any host would do.
  if (config.auth.mode === "jwt" && !config.auth.jwt.audience && !config.server.public_url) {
    throw new ConfigError(`auth.jwt.audience: required in the ${config.profile} profile (or set server.public_url; the audience is then <public_url>/mcp)`);
  }
}

/** The log directory outside dev when neither logging.dir, MCP_GATEWAY_LOG_DIR nor LOGS_DIRECTORY says otherwise. */
export const DEFAULT_LOG_DIR = "/var/log/mcp-gateway";

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}

/** Reads file + environment + overrides, validates, freezes. */
export function loadConfig(options: LoadOptions = {}): GatewayConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.MCP_GATEWAY_CONFIG;
  let input: Record<string, any>;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      // Required here, not imported: a running gateway forgets yaml once it listens (src/cli/settle-startup.ts).
      input = (requireForgettable<typeof Yaml>("yaml").parse(text) as Record<string, any>) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (typeof input !== "object" || Array.isArray(input)) throw new ConfigError(`config file ${file}: the top level must be a mapping`);
  } else {
    input = embeddedDefaults() as Record<string, any>;
  }
  input = applyEnv(structuredClone(input), env);
  if (options.overrides?.port !== undefined) (input.server ??= {}).port = options.overrides.port;
  if (options.overrides?.host !== undefined) (input.server ??= {}).host = options.overrides.host;
  if (options.overrides?.allowDevToken) (input.admin ??= {}).allow_dev_token_on_network = true;
  return validateConfig(input);
}

function applyEnv(input: Record<string, any>, env: NodeJS.ProcessEnv): GatewayConfigInput {
  if (env.PORT) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port)) throw new ConfigError(`PORT: not a port number: ${env.PORT}`);
    (input.server ??= {}).port = port;
  }
  if (env.HOST) (input.server ??= {}).host = env.HOST;
  if (env.MCP_GATEWAY_ADMIN_TOKEN) (input.admin ??= {}).token = env.MCP_GATEWAY_ADMIN_TOKEN;
  if (env.MCP_GATEWAY_PROFILE) input.profile = env.MCP_GATEWAY_PROFILE;
  if (env.REDIS_URL) (input.cluster ??= {}).redis_url = env.REDIS_URL;
  if (env.LOG_LEVEL) (input.logging ??= {}).level = env.LOG_LEVEL;
  if (env.MCP_GATEWAY_LOG_DIR !== undefined) (input.logging ??= {}).dir = env.MCP_GATEWAY_LOG_DIR;
  // systemd's LogsDirectory= exports the directory it created; a file's own logging.dir still wins.
  else if (env.LOGS_DIRECTORY && input.logging?.dir === undefined) (input.logging ??= {}).dir = env.LOGS_DIRECTORY.split(":")[0];
  return input;
}

/** Freezes an object graph so no stage can mutate shared config by accident. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
