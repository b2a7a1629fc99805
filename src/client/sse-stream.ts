/**
 * Reads Server-Sent Events from a fetch Response body. EventSource cannot
 * set headers (Authorization, Last-Event-ID, Mcp-Session-Id), so the SDK
 * parses the stream itself; this works the same in browsers and Node 20
 * (both have fetch, ReadableStream and TextDecoder).
 */
import { SseParser, type SseEvent } from "../upstream/transports/sse-parser.js";

export type { SseEvent };

/**
 * Feeds `body` through an SSE parser until it ends or `signal` aborts.
 * `onEvent` gets each event; `onChunk` fires on every chunk (liveness).
 * Resolves when the stream ends cleanly; rejects on a network error.
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: SseEvent) => void,
  onChunk?: () => void,
): Promise<void> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      onChunk?.();
      const events = parser.feed(decoder.decode(value, { stream: true }));
      for (const e of events) onEvent(e);
    }
    const tail = parser.feed(decoder.decode());
    for (const e of tail) onEvent(e);
  } finally {
    reader.releaseLock?.();
  }
}

/** Parses an SSE `id:` as a sequence number (undefined when it is not one). */
export function seqOf(id: string | undefined): number | undefined {
  if (id === undefined || !/^\d+$/.test(id)) return undefined;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : undefined;
}
