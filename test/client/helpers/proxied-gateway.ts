/**
 * The set-up most client fault tests share: one test gateway per file, reached
 * through a fault proxy that can cut or stall every connection, plus the
 * check that a call in flight either completes or fails clearly.
 */
import { after, before } from "node:test";
import assert from "node:assert/strict";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { Gateway } from "../../../src/gateway.js";
import { startTestGateway } from "./harness.js";
import { startFaultProxy, type FaultProxy } from "./fault-proxy.js";

/** A gateway and the fault proxy in front of it; both set once `before` has run. */
export interface ProxiedGateway {
  gateway: Gateway;
  proxy: FaultProxy;
}

/**
 * Registers `before`/`after` hooks in the calling scope (call it at a test
 * file's top level) that start a test gateway behind a fault proxy and close
 * both at the end. Returns the object the hooks fill in.
 */
export function useProxiedGateway(): ProxiedGateway {
  const env = {} as ProxiedGateway;
  before(async () => {
    ({ gateway: env.gateway } = await startTestGateway());
    env.proxy = await startFaultProxy(env.gateway.port);
  });
  after(async () => {
    await env.proxy?.close();
    await env.gateway?.close();
  });
  return env;
}

/** A call result or a clear failure: never a hang. */
export async function settle(p: Promise<unknown>): Promise<{ ok: boolean; text: string }> {
  try {
    const r = (await p) as { content: Array<{ text?: string }> };
    return { ok: true, text: r.content[0]?.text ?? "" };
  } catch (err) {
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    assert.match(err.message, /lost|gateway/i, "the failure says what happened");
    return { ok: false, text: err.message };
  }
}
