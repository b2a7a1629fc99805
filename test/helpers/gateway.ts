import { createRequire } from "node:module";
import { validateConfig, type GatewayConfigInput } from "../../src/config/index.js";
import { startGateway, type Gateway } from "../../src/gateway.js";

const require = createRequire(import.meta.url);

/** Path of the bundled server-everything entry point. */
export const EVERYTHING = require.resolve("@modelcontextprotocol/server-everything/dist/index.js");

/** A stdio upstream running the real server-everything. */
export function everythingUpstream(name = "everything", extra: Record<string, unknown> = {}) {
  return { name, transport: "stdio" as const, command: process.execPath, args: [EVERYTHING, "stdio"], ...extra };
}

/** A stdio upstream running the project's conformance fixture. */
export function fixtureUpstream(name = "fixture", extra: Record<string, unknown> = {}) {
  return { name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", "test/fixtures/conformance-server.ts", "--stdio"], ...extra };
}

/** Starts a quiet gateway on a free port; merge `input` over test defaults. */
export async function startTestGateway(input: GatewayConfigInput): Promise<{ gateway: Gateway; url: string; port: number }> {
  const config = validateConfig({
    profile: "dev",
    ...input,
    server: { port: 0, host: "127.0.0.1", ...(input.server ?? {}) },
    logging: { dir: "", stdout: false, ...(input.logging ?? {}) },
  });
  return startGateway(config);
}
