/** RFC 8785 (JCS): the RFC's own examples and number vectors, plus properties. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson } from "../../src/integrity/canonical-json.js";

test("RFC 8785 3.2.3 example: sorted members, ES numbers, minimal string escapes", () => {
  const input = '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}';
  const expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
  assert.equal(canonicalJson(JSON.parse(input)), expected);
});

test("RFC 8785 3.2.3 sorting example: member names by UTF-16 code units", () => {
  const input = { "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis" };
  // Read the order from the text: Object.keys would put the integer-like "1" first.
  const text = canonicalJson(input);
  const order = ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"].map((k) => text.indexOf(`"${k}":`));
  assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), text);
});

test("RFC 8785 appendix B number vectors", () => {
  const vectors: Array<[string, string]> = [
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555555", "333333333.3333333"],
  ];
  for (const [bits, text] of vectors) {
    const n = Buffer.from(bits, "hex").readDoubleBE(0);
    assert.equal(canonicalJson(n), text, bits);
  }
});

test("non-JSON values are refused; undefined members are skipped", () => {
  assert.throws(() => canonicalJson(Number.NaN), /not a JSON number/);
  assert.throws(() => canonicalJson(Infinity), /not a JSON number/);
  assert.throws(() => canonicalJson(() => 1), /not a JSON value/);
  assert.equal(canonicalJson({ b: undefined, a: [undefined, 1] }), '{"a":[null,1]}');
});

test("property: key order never matters and the output parses back to the same value", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = canonicalJson(v);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(v)));
      const shuffled = JSON.parse(JSON.stringify(v), function (_k, val) {
        if (val && typeof val === "object" && !Array.isArray(val)) return Object.fromEntries(Object.entries(val).reverse());
        return val;
      });
      assert.equal(canonicalJson(shuffled), text);
    }),
    { numRuns: 300 },
  );
});
