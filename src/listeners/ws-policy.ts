import type { EventEmitter } from "node:events";
import type { WebSocket } from "ws";

/**
 * ws answers a frame above `maxPayload` (or with a length past 2^53) with 1009; the gateway's catalogue
 * (and the guide) say 1008 policy violation. ws reads the close code from a
 * symbol on the error before closing, so it is rewritten on the receiver
 * first. `onTooLarge` runs before the close (to record the reason).
 */
export function closeOversizeWith1008(ws: WebSocket, onTooLarge: () => void): void {
  const receiver = (ws as unknown as { _receiver?: EventEmitter })._receiver;
  receiver?.prependListener("error", (err: Error & { code?: string }) => {
    // Above maxPayload, and a 64-bit length ws cannot represent (2^53 and up, e.g. 2^63): both are "too large".
    if (err.code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" && err.code !== "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH") return;
    const sym = Object.getOwnPropertySymbols(err).find((s) => s.description === "status-code");
    if (sym) (err as unknown as Record<symbol, number>)[sym] = 1008;
    onTooLarge();
  });
}
