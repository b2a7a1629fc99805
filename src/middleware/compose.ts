import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import type { CallerContext } from "../protocol/caller-context.js";

/** Handles one parsed client message for a session. */
export type MessageHandler = (session: CallerContext, message: JsonRpcMessage) => void;

/** Wraps the next handler: `(next) => handler`, like undici interceptors. */
export type Middleware = (next: MessageHandler) => MessageHandler;

/**
 * Composes middleware right to left around `final`, once at start-up, so a
 * message pays one function call per step and no per-message allocation.
 * A step that calls `next` twice for one message is a bug: it would relay a
 * request twice, so the guard turns it into an exception.
 */
export function compose(middleware: readonly Middleware[], final: MessageHandler): MessageHandler {
  if (!Array.isArray(middleware)) throw new TypeError("middleware must be an array");
  for (const m of middleware) if (typeof m !== "function") throw new TypeError("each middleware must be a function (next) => handler");
  let handler = final;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const next = guardOnce(handler);
    handler = middleware[i]!(next);
    if (typeof handler !== "function") throw new TypeError(`middleware #${i} did not return a handler`);
  }
  return handler;
}

/** How many recent messages each step remembers to catch a second `next` for one of them. */
const GUARD_WINDOW = 16;

/**
 * Remembers the last GUARD_WINDOW messages that passed a step, so a second
 * `next` call for one of them throws: the same call later on (after an
 * await, a timer) while fewer than GUARD_WINDOW other messages passed is
 * caught too. A fixed ring of references: a WeakSet insert per message per
 * step cost more than the whole step (CPU profile) and weighed on every GC.
 */
function guardOnce(next: MessageHandler): MessageHandler {
  const recent: Array<object | undefined> = new Array(GUARD_WINDOW).fill(undefined);
  let at = 0;
  return (session, message) => {
    for (let i = 0; i < GUARD_WINDOW; i++) if (recent[i] === message) throw new Error("next() called twice for one message");
    recent[at] = message;
    at = (at + 1) % GUARD_WINDOW;
    next(session, message);
  };
}
