// The registry's per-client index holds a client's one session itself and a Set only from the second on:
// counts, lists (in creation order) and ends are the same either way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionRegistry } from "../../src/session/registry.js";

test("sessions by client: one, several, back to one, none", () => {
  const r = new SessionRegistry({ size: 10, bytes: 1e6 });
  assert.equal(r.countOf("c"), 0);
  assert.deepEqual(r.byClient("c"), []);
  const a = r.create("c", "websocket");
  assert.equal(r.countOf("c"), 1);
  assert.deepEqual(r.byClient("c"), [a]);
  const b = r.create("c", "http_sse");
  const c = r.create("c", "phoenix");
  const other = r.create("d", "websocket");
  assert.equal(r.countOf("c"), 3);
  assert.deepEqual(r.byClient("c"), [a, b, c]);
  r.end(b);
  assert.deepEqual(r.byClient("c"), [a, c]);
  r.end(a);
  assert.equal(r.countOf("c"), 1);
  assert.deepEqual(r.byClient("c"), [c]);
  r.end(a);
  assert.deepEqual(r.byClient("c"), [c], "ending an ended session changes nothing");
  const e = r.create("c", "websocket");
  assert.deepEqual(r.byClient("c"), [c, e]);
  r.end(c);
  r.end(e);
  assert.equal(r.countOf("c"), 0);
  assert.deepEqual(r.clientIds(), ["d"]);
  assert.deepEqual(r.byClient("d"), [other]);
});
