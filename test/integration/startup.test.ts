/** MCP traffic that arrives while the upstreams are still starting waits for them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { validateConfig } from "../../src/config/index.js";
import { Gateway } from "../../src/gateway.js";
import { fixtureUpstream } from "../helpers/gateway.js";

test("a client connecting during start-up sees the full tool list", async () => {
  const gateway = new Gateway(validateConfig({ server: { port: 0 }, logging: { dir: "", stdout: false }, upstreams: [fixtureUpstream("f")] }));
  const listening = new Promise<void>((resolve) => gateway.server.once("listening", () => resolve()));
  const started = gateway.listen();
  try {
    await listening;
    const url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
    // The stdio fixture takes a moment (tsx): health says so meanwhile.
    const health = await fetch(`${url}/health`);
    const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: H,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "early", version: "1" } } }),
    });
    assert.equal(init.status, 200);
    const sid = init.headers.get("mcp-session-id")!;
    await init.json();
    const list = await (await fetch(`${url}/mcp`, { method: "POST", headers: { ...H, "mcp-session-id": sid }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }) })).json();
    assert.ok(list.result.tools.some((t: { name: string }) => t.name === "test_simple_text"));
    assert.ok([200, 503].includes(health.status));
    await started;
  } finally {
    await gateway.close();
  }
});
