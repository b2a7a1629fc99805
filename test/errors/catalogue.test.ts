import { test } from "node:test";
import assert from "node:assert/strict";
import { CATALOGUE, GatewayError, toClose, toHttpBody, toJsonRpcError, type ErrorCode } from "../../src/errors/index.js";

test("every catalogue entry renders on every wire", () => {
  for (const code of Object.keys(CATALOGUE) as ErrorCode[]) {
    const entry = CATALOGUE[code];
    assert.ok(entry.http >= 400 && entry.http < 600, `${code} http`);
    assert.ok(entry.jsonrpc <= -32000 && entry.jsonrpc >= -32768, `${code} jsonrpc`);
    // Codes a server may send (RFC 6455 and the IANA registry); 1005/1006/1015 are never sent.
    assert.ok([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(entry.close), `${code} close ${entry.close}`);
    const err = new GatewayError(code, { retry_after: 3, reason: "r" });
    assert.ok(!err.message.includes("{"), `${code} template fully rendered: ${err.message}`);
    assert.equal(toHttpBody(err).error, code);
    const rpc = toJsonRpcError(err, 7);
    assert.equal(rpc.id, 7);
    assert.equal((rpc.error.data as { error: string }).error, code);
    assert.ok(Buffer.byteLength(toClose(err).reason) <= 123);
  }
});

test("the guide's gateway errors exist with sensible wires", () => {
  assert.equal(CATALOGUE.pool_timeout.http, 503);
  assert.equal(CATALOGUE.rate_limit_exceeded.http, 429);
  assert.equal(CATALOGUE.circuit_open.http, 503);
  assert.equal(CATALOGUE.transport_unavailable.http, 503);
  assert.equal(CATALOGUE.authentication_failed.http, 401);
  assert.equal(CATALOGUE.message_too_large.close, 1008, "the guide: 1008 policy violation, message too large");
  assert.equal(CATALOGUE.parse_error.jsonrpc, -32700);
  assert.equal(CATALOGUE.method_not_found.jsonrpc, -32601);
  const rl = toJsonRpcError(new GatewayError("rate_limit_exceeded", { retry_after: 12 }), 1);
  assert.deepEqual(rl.error.data, { error: "rate_limit_exceeded", retry_after: 12 });
});

test("-32020..-32022 mean only what MCP 2026-07-28 says, on every wire (docs/adr/0230)", () => {
  const owners: Record<number, ErrorCode[]> = {};
  for (const code of Object.keys(CATALOGUE) as ErrorCode[]) (owners[CATALOGUE[code].jsonrpc] ??= []).push(code);
  assert.deepEqual(owners[-32020], ["header_mismatch"]);
  assert.deepEqual(owners[-32021], ["missing_client_capability"]);
  assert.deepEqual(owners[-32022], ["unsupported_version"]);
  // The three older entries keep their names (the guide's) under numbers of their own.
  assert.deepEqual(
    (["too_many_connections", "request_timeout", "shutting_down"] as const).map((c) => CATALOGUE[c].jsonrpc),
    [-32025, -32026, -32027],
  );
});
