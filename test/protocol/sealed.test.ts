import { test } from "node:test";
import assert from "node:assert/strict";
import { Sealer, keyFromConfig } from "../../src/protocol/sealed.js";
import { GatewayError, toJsonRpcError } from "../../src/errors/index.js";

const key = keyFromConfig("a test passphrase");

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
  assert.fail("expected a refusal");
}

test("a sealed payload opens with the same key and purpose", () => {
  const s = new Sealer(key);
  const token = s.seal("request_state", { upstream: "fx", handle: "h1", answers: { a: 1 } });
  assert.match(token, /^g1\.[A-Za-z0-9_-]+$/);
  assert.ok(!token.includes("fx"), "the contents are not readable");
  assert.deepEqual(s.open("request_state", token), { upstream: "fx", handle: "h1", answers: { a: 1 } });
  // Another node with the same configured key opens it too.
  assert.equal(new Sealer(keyFromConfig("a test passphrase")).open<{ upstream: string }>("request_state", token).upstream, "fx");
});

test("tampered, foreign, cross-purpose, malformed and expired tokens are refused with sealed_state_invalid", () => {
  let now = 1_000;
  const s = new Sealer(key, () => now);
  const token = s.seal("request_state", { upstream: "fx" }, 500);
  const flipped = token.slice(0, -3) + (token.at(-3) === "A" ? "B" : "A") + token.slice(-2);
  for (const [bad, reason] of [
    [token + "-TAMPERED", /integrity|truncated/],
    [flipped, /integrity/],
    ["not-a-token", /not a token/],
    [42, /not a token/],
  ] as const) {
    const err = refusal(() => s.open("request_state", bad));
    assert.equal(err.code, "sealed_state_invalid");
    assert.match(String(err.details.reason), reason);
    assert.equal(toJsonRpcError(err, 7).error.code, -32602);
  }
  assert.match(String(refusal(() => new Sealer().open("request_state", token)).details.reason), /another key/);
  assert.equal(refusal(() => s.open("task_id", token)).code, "sealed_state_invalid");
  now = 2_000;
  assert.equal(refusal(() => s.open("request_state", token)).details.reason, "expired");
});

test("keys: hex and base64 are taken as they are, passphrases are hashed, empty is an error", () => {
  assert.equal(keyFromConfig("00".repeat(32)).length, 32);
  assert.equal(keyFromConfig(Buffer.alloc(32, 7).toString("base64")).toString("hex"), "07".repeat(32));
  assert.equal(keyFromConfig("x").length, 32);
  assert.throws(() => keyFromConfig(""));
});
