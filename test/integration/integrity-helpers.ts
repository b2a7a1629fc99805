/** Shared parts of the integrity integration tests: a mutable SDK upstream, SDK clients that count list_changed, the CLI in-process. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { runCli } from "../../src/cli/program.js";

/** A stdio upstream running test/fixtures/mutable-server.ts. */
export function mutableUpstream(name: string, flags: string[] = [], extra: Record<string, unknown> = {}) {
  return { name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", "test/fixtures/mutable-server.ts", ...flags], ...extra };
}

/** A fresh pin file path in a temporary directory. */
export function tempPinFile(ext = "json"): string {
  return join(mkdtempSync(join(tmpdir(), "integrity-")), `pins.${ext}`);
}

/** An SDK v1 client that counts tools/list_changed and lets a test await the next one. */
export class CountingClient {
  readonly client = new Client({ name: "integrity-test", version: "1" });
  changes = 0;
  #waiters: Array<() => void> = [];

  static async connect(url: string, wire: "streamable" | "sse" = "streamable"): Promise<CountingClient> {
    const c = new CountingClient();
    c.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      c.changes++;
      for (const w of c.#waiters.splice(0)) w();
    });
    await c.client.connect(wire === "sse" ? new SSEClientTransport(new URL(`${url}/mcp/sse`)) : new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    return c;
  }

  /** Resolves at the next tools/list_changed. */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async toolNames(): Promise<string[]> {
    return (await this.client.listTools()).tools.map((t) => t.name).sort();
  }
}

/** Runs one CLI command against the gateway, in-process. */
export async function cli(url: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runCli(args, { out: (s) => void lines.push(s), err: (s) => void lines.push(s) }, { MCP_GATEWAY_URL: url });
  return { code, out: lines.join("\n") };
}

/** GET an admin path with the dev token. */
export async function admin<T = any>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: "Bearer admin-token" } });
  return (await res.json()) as T;
}
