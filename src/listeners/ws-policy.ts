import type { EventEmitter } from "node:events";
import type { WebSocket } from "ws";

/** True for the errors ws raises for a frame above `maxPayload` (or with a length past 2^53, e.g. 2^63): both are "too large". */
export function isTooLarge(err: Error & { code?: string }): boolean {
  return err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" || err.code === "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH";
}

/** Rewrites a too-large error's close code to 1008 (one shared listener on every receiver). */
function rewriteTo1008(err: Error & { code?: string }): void {
  if (!isTooLarge(err)) return;
  const sym = Object.getOwnPropertySymbols(err).find((s) => s.description === "status-code");
  if (sym) (err as unknown as Record<symbol, number>)[sym] = 1008;
}

/**
 * ws answers a frame above `maxPayload` (or with a length past 2^53) with 1009; the gateway's catalogue
 * (and the guide) say 1008 policy violation. ws reads the close code from a
 * symbol on the error before closing, so it is rewritten on the receiver
 * first. ws then emits the same error on the socket (before its `close`): a
 * listener that wants to record the reason checks `isTooLarge` in its socket
 * `error` listener (a shared function, where a callback here would be a
 * closure per socket, ADR 0200).
 */
export function closeOversizeWith1008(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: EventEmitter })._receiver;
  receiver?.prependListener("error", rewriteTo1008);
}
