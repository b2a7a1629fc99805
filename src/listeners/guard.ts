import { GatewayError, toGatewayError } from "../errors/index.js";
import { log } from "../telemetry/channels.js";

/**
 * The one guard every listener's per-message path runs inside (HTTP route
 * handlers, upgrade handlers, WebSocket and Phoenix message handlers, the
 * HTTP+SSE POST). Whatever a handler throws, synchronously or as a rejected
 * promise, is turned into a catalogue error and handed to `answer`, which
 * tells that one client; the process and every other client carry on. A
 * GatewayError is an expected refusal and is answered as it is; anything
 * else is a gateway bug: it is logged with its stack and answered as
 * `internal_error`. If `answer` itself throws, that is logged and dropped.
 *
 * Node calls event handlers (`request`, `upgrade`, ws `message`) without a
 * catch of its own: a throw there is an uncaughtException, which ends the
 * process. Routing every entry point through here makes "a handler throws"
 * structurally unable to take the gateway down.
 */
export function guarded(where: string, run: () => void | Promise<unknown>, answer: (err: GatewayError) => void): void {
  let result: void | Promise<unknown>;
  try {
    result = run();
  } catch (err) {
    fail(where, err, answer);
    return;
  }
  if (result !== undefined && typeof (result as Promise<unknown>).then === "function") {
    (result as Promise<unknown>).then(undefined, (err: unknown) => fail(where, err, answer));
  }
}

/**
 * What `guarded` does with a throw: for event handlers that are one shared function per listener (not a
 * closure per socket, ADR 0200) and catch for themselves. They are synchronous: a promise they return is not
 * watched, so they must not return one.
 */
export function guardFailed(where: string, err: unknown, answer: (err: GatewayError) => void): void {
  fail(where, err, answer);
}

function fail(where: string, err: unknown, answer: (err: GatewayError) => void): void {
  const e = toGatewayError(err);
  if (!(err instanceof GatewayError)) log("error", "MCP.Gateway", `${where} failed: ${(err as Error)?.stack ?? String(err)}`);
  try {
    answer(e);
  } catch (again) {
    log("error", "MCP.Gateway", `${where}: answering ${e.code} failed too: ${(again as Error)?.stack ?? String(again)}`);
  }
}
