import type { ServerResponse } from "node:http";

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
}

/** Formats one SSE event. `data` must not contain newlines (JSON.stringify output never does). */
export function sseEvent(data: string, id?: number | string, event?: string): string {
  let out = "";
  if (id !== undefined) out += `id: ${id}\n`;
  if (event !== undefined) out += `event: ${event}\n`;
  return `${out}data: ${data}\n\n`;
}
