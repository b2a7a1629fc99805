/** Deterministic, client-safe exposed names. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CLIENT_NAME_PATTERN, shortenName } from "../../src/integrity/name-shortener.js";

test("names within the limit and pattern are unchanged", () => {
  assert.equal(shortenName("github__create_issue"), "github__create_issue");
  assert.equal(shortenName("a".repeat(64)), "a".repeat(64));
});

test("a long composed name is cut to the limit with a stable hash suffix", () => {
  const long = `an_upstream_with_a_long_name__${"x".repeat(60)}`;
  const short = shortenName(long);
  assert.equal(short.length, 64);
  assert.match(short, /^an_upstream_with_a_long_name__x+_[0-9a-f]{8}$/);
  assert.equal(shortenName(long), short, "same input, same name (restarts, nodes)");
  assert.notEqual(shortenName(long + "y"), short, "a different name gets a different suffix");
  assert.equal(shortenName(long, 32).length, 32);
});

test("characters clients refuse are replaced, and the hash keeps a.b apart from a_b", () => {
  const dotted = shortenName("files__read.file");
  assert.match(dotted, /^files__read_file_[0-9a-f]{8}$/);
  assert.notEqual(shortenName("files__read/file"), dotted);
  assert.equal(shortenName("files__read_file"), "files__read_file");
});

test("property: output always matches the client pattern and limit, and distinct inputs stay distinct", () => {
  const seen = new Map<string, string>();
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.integer({ min: 16, max: 128 }), (name, limit) => {
      const out = shortenName(name, limit);
      assert.ok(out.length <= limit, `${out.length} > ${limit}`);
      assert.match(out, CLIENT_NAME_PATTERN);
      const key = `${limit}:${out}`;
      const before = seen.get(key);
      if (before !== undefined) assert.equal(before, name, "two names shortened to one");
      seen.set(key, name);
    }),
    { numRuns: 2000 },
  );
});
