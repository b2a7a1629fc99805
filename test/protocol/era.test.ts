import { test } from "node:test";
import assert from "node:assert/strict";
import { ALL_PROTOCOL_VERSIONS, classifyHeaders, classifyMessage, isModernVersion } from "../../src/protocol/era.js";

test("headers: a modern version is modern even with a stray session id", () => {
  assert.equal(classifyHeaders({ protocolVersion: "2026-07-28" }), "modern");
  assert.equal(classifyHeaders({ protocolVersion: "2026-07-28", sessionId: "abc" }), "modern");
});

test("headers: legacy versions, no header, or an unknown version on a session stay legacy", () => {
  assert.equal(classifyHeaders({}), "legacy");
  assert.equal(classifyHeaders({ protocolVersion: "2025-11-25" }), "legacy");
  assert.equal(classifyHeaders({ protocolVersion: "2024-11-05", sessionId: "s" }), "legacy");
  assert.equal(classifyHeaders({ protocolVersion: "v999", sessionId: "s" }), "legacy");
});

test("headers: an unknown version without a session is modern (answered -32022 with the supported list)", () => {
  assert.equal(classifyHeaders({ protocolVersion: "v999.0.0" }), "modern");
});

test("body: _meta protocolVersion or a modern-only method makes a header-less request modern", () => {
  const meta = { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } };
  assert.equal(classifyMessage({ jsonrpc: "2.0", id: 1, method: "tools/list", params: meta }, {}), "modern");
  assert.equal(classifyMessage({ jsonrpc: "2.0", id: 1, method: "server/discover" }, {}), "modern");
  assert.equal(classifyMessage({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }, {}), "legacy");
  assert.equal(classifyMessage({ jsonrpc: "2.0", id: 1, method: "tools/list", params: meta }, { sessionId: "s" }), "legacy");
});

test("both eras are listed, modern first", () => {
  assert.equal(ALL_PROTOCOL_VERSIONS[0], "2026-07-28");
  assert.ok(ALL_PROTOCOL_VERSIONS.includes("2025-11-25"));
  assert.ok(isModernVersion("2026-07-28") && !isModernVersion("2025-11-25"));
});
