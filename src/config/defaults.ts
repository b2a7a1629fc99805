import { createRequire } from "node:module";
import type { GatewayConfigInput } from "./schema.js";

/** The dev profile's admin token: lets the guide's curl lines work verbatim; refused elsewhere. */
export const DEV_ADMIN_TOKEN = "admin-token";

/**
 * The embedded default used when no config file is given (`npm start`):
 * dev profile on 127.0.0.1:4000 with the bundled demo upstream, the real
 * `@modelcontextprotocol/server-everything` over stdio.
 */
export function embeddedDefaults(): GatewayConfigInput {
  const require = createRequire(import.meta.url);
  const everything = require.resolve("@modelcontextprotocol/server-everything/dist/index.js");
  return {
    profile: "dev",
    upstreams: [{ name: "everything", transport: "stdio", command: process.execPath, args: [everything, "stdio"] }],
  };
}
