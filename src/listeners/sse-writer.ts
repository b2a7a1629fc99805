import type { ServerResponse } from "node:http";
import { forEachSlice } from "../protocol/raw-reply.js";

/**
 * Starts an SSE response: no proxy buffering (X-Accel-Buffering: no), no
 * caching, and a `retry:` hint so clients reconnect promptly.
 */
export function startSse(res: ServerResponse, retryMs: number, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    ...headers,
  });
  res.write(`retry: ${retryMs}\n\n`);
  // Flush headers now: a client waits for them before it sends anything else.
  (res as ServerResponse & { flushHeaders(): void }).flushHeaders();
  flattenSentHeader(res);
}

/**
 * Node keeps the header block it wrote (`res._header`) for the life of a response, and once it is sent only
 * tests it for truthiness (`headersSent`, the "headers already sent" checks). It is built by concatenation: a
 * tree of ~25 string pieces, ~850 B, held by every open stream. The same text as one flat string is ~200 B
 * (ADR 0200). Header text is Latin-1 (Node refuses other characters in headers), so the copy is exact; if a
 * Node version keeps something else there, nothing is touched.
 */
function flattenSentHeader(res: ServerResponse): void {
  const r = res as ServerResponse & { _header?: unknown };
  if (r.headersSent && typeof r._header === "string") r._header = Buffer.from(r._header, "latin1").toString("latin1");
}

/** Longest piece handed to one socket write: a multi-MB string is encoded in slices, not in one second copy. */
const WRITE_SLICE = 256 * 1024;

/**
 * Writes a long string in slices (never splitting a surrogate pair): each
 * write encodes only its slice, so the socket's copies are freed as the
 * kernel takes them instead of one copy of the whole text waiting at once.
 */
export function writeSliced(res: { write(chunk: string): boolean }, text: string): boolean {
  let ok = true;
  forEachSlice(text, WRITE_SLICE, (slice) => (ok = res.write(slice)));
  return ok;
}

/** Writes one SSE event whose data is `parts` (rawParts of a message) without joining them. */
export function writeSseParts(res: { write(chunk: string): boolean }, parts: readonly string[], id?: number | string, event?: string): boolean {
  let head = "";
  if (id !== undefined) head += `id: ${id}\n`;
  if (event !== undefined) head += `event: ${event}\n`;
  res.write(`${head}data: `);
  for (const p of parts) writeSliced(res, p);
  return res.write("\n\n");
}

/** Formats one SSE event. `data` must not contain newlines (JSON.stringify output never does). */
export function sseEvent(data: string, id?: number | string, event?: string): string {
  let out = "";
  if (id !== undefined) out += `id: ${id}\n`;
  if (event !== undefined) out += `event: ${event}\n`;
  return `${out}data: ${data}\n\n`;
}
