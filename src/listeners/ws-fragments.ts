import type { WebSocket } from "ws";
import { forEachSlice } from "../protocol/raw-reply.js";

/** Largest fragment of a text message sent in pieces. */
const FRAGMENT = 256 * 1024;

/**
 * Sends `before`, the pieces and `after` as one WebSocket text message made
 * of fragments (RFC 6455 §5.4), each encoded on its own: a multi-MB reply
 * relayed as text (ADR 0211) never exists as one second copy. All fragments
 * go out in this synchronous loop, so no other data message can come between
 * them (control frames may, as the RFC allows).
 */
export function sendTextFragments(ws: WebSocket, parts: readonly string[], before = "", after = ""): void {
  const slices: string[] = [];
  if (before) slices.push(before);
  for (const p of parts) forEachSlice(p, FRAGMENT, (s) => slices.push(s));
  if (after) slices.push(after);
  const last = slices.length - 1;
  for (let i = 0; i <= last; i++) ws.send(slices[i]!, { binary: false, fin: i === last });
}
