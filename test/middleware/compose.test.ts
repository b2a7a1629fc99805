import { test } from "node:test";
import assert from "node:assert/strict";
import { compose, type Middleware } from "../../src/middleware/compose.js";
import type { Session } from "../../src/session/session.js";

const session = {} as Session;

test("middleware runs outermost first and can short-circuit", () => {
  const order: string[] = [];
  const tag = (name: string): Middleware => (next) => (s, m) => {
    order.push(name);
    if ((m as { stop?: boolean }).stop && name === "b") return;
    next(s, m);
  };
  const handler = compose([tag("a"), tag("b")], () => order.push("final"));
  handler(session, { jsonrpc: "2.0", method: "x" });
  assert.deepEqual(order, ["a", "b", "final"]);
  order.length = 0;
  handler(session, { jsonrpc: "2.0", method: "x", stop: true } as never);
  assert.deepEqual(order, ["a", "b"]);
});

test("calling next twice for one message throws", () => {
  const twice: Middleware = (next) => (s, m) => {
    next(s, m);
    next(s, m);
  };
  const handler = compose([twice], () => {});
  assert.throws(() => handler(session, { jsonrpc: "2.0", method: "x" }), /twice/);
});

test("compose validates its input", () => {
  assert.throws(() => compose([42 as never], () => {}), /must be a function/);
  assert.throws(() => compose([(() => 1) as never], () => {}), /did not return a handler/);
});

test("a second next for a message after other messages passed, and after an await, throws too", async () => {
  let held: (() => void) | undefined;
  // Calls next now, and once more later for the first message it saw (a bug the guard must catch).
  const later: Middleware = (next) => (s, m) => {
    next(s, m);
    held ??= () => next(s, m);
  };
  const handler = compose([later], () => {});
  handler(session, { jsonrpc: "2.0", method: "first" });
  for (let i = 0; i < 5; i++) handler(session, { jsonrpc: "2.0", method: `other${i}` });
  await Promise.resolve();
  assert.throws(() => held!(), /twice/);
});
