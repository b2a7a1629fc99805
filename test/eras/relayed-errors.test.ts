// An upstream's error in the revision's range (-32020..-32022) reaches a modern client with the
// revision's meaning only where it is the client's (a modern upstream's -32021); every other one
// becomes upstream_error with the original code kept (docs/adr/0230).
import { test } from "node:test";
import assert from "node:assert/strict";
import { relayedErrorForModern } from "../../src/eras/modern/errors.js";
import { CATALOGUE, GatewayError } from "../../src/errors/index.js";
import { toModernWire } from "../../src/eras/modern/errors.js";

const err = (code: number, data?: unknown) => ({ jsonrpc: "2.0" as const, id: 4, error: { code, message: `upstream said ${code}`, ...(data !== undefined ? { data } : {}) } });

test("a legacy upstream's -32020..-32022 are its own codes: upstream_error on the modern wire", () => {
  for (const code of [-32020, -32021, -32022]) {
    const out = relayedErrorForModern(err(code, { why: "x" }), "old", "legacy");
    assert.equal(out.id, 4);
    assert.equal(out.error.code, CATALOGUE.upstream_error.jsonrpc);
    assert.deepEqual(out.error.data, { error: "upstream_error", upstream: "old", reason: `upstream said ${code}`, upstream_code: code, upstream_data: { why: "x" } });
    assert.match(out.error.message, /upstream said/);
  }
});

test("a modern upstream's -32021 names the client's capabilities and passes; its -32020/-32022 are about the gateway's hop", () => {
  const missing = err(-32021, { requiredCapabilities: { sampling: {} } });
  assert.equal(relayedErrorForModern(missing, "new", "modern"), missing);
  assert.equal(relayedErrorForModern(err(-32022, { supported: ["2027-01-01"], requested: "2026-07-28" }), "new", "modern").error.code, CATALOGUE.upstream_error.jsonrpc);
  assert.equal(relayedErrorForModern(err(-32020), "new", "modern").error.code, CATALOGUE.upstream_error.jsonrpc);
  const other = err(-32603);
  assert.equal(relayedErrorForModern(other, "old", "legacy"), other, "codes outside the range pass unchanged");
});

test("no gateway error is shown in -32020..-32022 on the modern wire unless it is the revision's", () => {
  const revision = new Set(["header_mismatch", "missing_client_capability", "unsupported_version"]);
  for (const code of Object.keys(CATALOGUE) as Array<keyof typeof CATALOGUE>) {
    const shown = toModernWire(new GatewayError(code, {}), 1).body.error.code;
    if (!revision.has(code)) assert.ok(shown > -32020 || shown < -32022, `${code} shown as ${shown}`);
  }
});
