/**
 * Incremental Server-Sent Events parser (WHATWG "event stream interpretation"),
 * shared by the Streamable HTTP and legacy HTTP+SSE upstream transports.
 *
 * It takes decoded text in arbitrary chunks (a line, an event or a field may be
 * split anywhere, including between the CR and LF of a CRLF) and yields whole
 * events. Hot-path notes:
 * - a chunk without any line terminator is only queued, so a multi-megabyte
 *   `data:` line arriving in many chunks is joined once, not re-scanned per chunk;
 * - `feed` returns a shared empty array when no event completed, so idle
 *   keep-alive comments allocate nothing;
 * - an event whose single `data:` line is at least LONG_LINE characters
 *   keeps it as the pieces it arrived in ({@link SseEvent.parts}): a
 *   multi-MB reply is never joined here (ADR 0240).
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `data:` lines joined with "\n" ("" for `data:` with no value). */
  data: string;
  /** The `event:` field of this event, if it had one (the spec's default type is "message"). */
  event?: string;
  /** The `id:` field of this event, if it had one. See also {@link SseParser.lastEventId}. */
  id?: string;
  /** The `retry:` field (reconnection delay in ms) of this event, if it had a valid one. */
  retry?: number;
  /**
   * A long single `data:` line as the pieces it arrived in (their concatenation is `data`, which joins
   * them on first access): read this first to avoid the copy. Undefined for ordinary events.
   */
  parts?: string[];
}

/** A data line at least this long (with no other data line in its event) is kept in pieces. */
export const LONG_LINE = 256 * 1024;

/** An event whose data is kept in pieces: `data` is joined only if someone asks for it. */
class LongEvent implements SseEvent {
  #data: string | undefined;
  constructor(
    readonly parts: string[],
    readonly event: string | undefined,
    readonly id: string | undefined,
    readonly retry: number | undefined,
  ) {}
  get data(): string {
    return (this.#data ??= this.parts.join(""));
  }
}

const EMPTY: readonly SseEvent[] = Object.freeze([]);
const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

/**
 * Incremental SSE parser. Create one per HTTP response (or call {@link reset}
 * before reusing it on a new connection).
 */
export class SseParser {
  /** Text queued since the last line terminator, kept as parts to avoid repeated concatenation. */
  #pending: string[] = [];
  #pendingChars = 0;
  /** The current event's data, when it is one long line kept in pieces. */
  #dataParts: string[] | undefined;
  /** The previous chunk ended with CR: a leading LF of the next chunk belongs to it. */
  #skipLf = false;
  /** At the very start of the stream a UTF-8 BOM is to be ignored. */
  #atStart = true;
  #data: string | undefined;
  #event: string | undefined;
  #id: string | undefined;
  #retry: number | undefined;
  #lastEventId: string | undefined;
  #reconnectMs: number | undefined;
  #out: SseEvent[] | undefined;

  /**
   * The last event id seen on the stream (persists across events, like the
   * spec's "last event ID buffer"); what to send as `Last-Event-ID` on resume.
   * Updated even by events that carry no data (e.g. an `id:`-only priming block).
   */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** The last valid `retry:` value seen on the stream, in milliseconds. */
  get retry(): number | undefined {
    return this.#reconnectMs;
  }

  /**
   * Forgets any partial line or event (a new connection starts clean) but keeps
   * {@link lastEventId} and {@link retry}, which carry over to a resumed stream.
   */
  reset(): void {
    this.#pending.length = 0;
    this.#pendingChars = 0;
    this.#skipLf = false;
    this.#atStart = true;
    this.#data = this.#event = this.#id = this.#retry = this.#dataParts = undefined;
  }

  /**
   * Feeds decoded text; returns the events completed by it (in order).
   * The returned array must not be mutated (it may be a shared empty array).
   */
  feed(chunk: string): readonly SseEvent[] {
    if (chunk.length === 0) return EMPTY;
    let pos = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (chunk.charCodeAt(0) === LF) pos = 1;
    }
    // Search only the new chunk for terminators: queued text has none.
    let nl = chunk.indexOf("\n", pos);
    let cr = chunk.indexOf("\r", pos);
    if (nl === -1 && cr === -1) {
      const piece = pos === 0 ? chunk : chunk.slice(pos);
      this.#pending.push(piece);
      this.#pendingChars += piece.length;
      return EMPTY;
    }
    let buf: string;
    const first = cr === -1 || (nl !== -1 && nl < cr) ? nl : cr;
    if (this.#pending.length > 0 && this.#pendingChars + first - pos >= LONG_LINE && this.#startsLongData()) {
      // The line completes a long `data:` line: keep its pieces, drop the field name from the first.
      const parts = this.#pending;
      this.#pending = [];
      this.#pendingChars = 0;
      parts.push(chunk.slice(pos, first));
      const head = parts[0]!;
      parts[0] = head.slice(head.charCodeAt(5) === SPACE ? 6 : 5);
      this.#dataParts = parts;
      buf = chunk;
      pos = first + 1;
      if (first === cr) {
        if (cr + 1 < chunk.length) {
          if (chunk.charCodeAt(cr + 1) === LF) pos++;
        } else {
          this.#skipLf = true;
        }
      }
    } else if (this.#pending.length > 0) {
      const head = this.#pending.join("");
      this.#pending.length = 0;
      this.#pendingChars = 0;
      const tail = pos === 0 ? chunk : chunk.slice(pos);
      buf = head + tail;
      const shift = head.length - pos;
      if (nl !== -1) nl += shift;
      if (cr !== -1) cr += shift;
      pos = 0;
    } else {
      buf = chunk;
    }
    if (this.#atStart) {
      this.#atStart = false;
      if (buf.charCodeAt(pos) === 0xfeff) pos++;
    }
    const len = buf.length;
    this.#out = undefined;
    for (;;) {
      // Recompute a terminator index only once we have moved past it, so a
      // stream with no CR at all costs one CR scan per chunk, not one per line.
      if (nl !== -1 && nl < pos) nl = buf.indexOf("\n", pos);
      if (cr !== -1 && cr < pos) cr = buf.indexOf("\r", pos);
      let end: number;
      let next: number;
      if (cr !== -1 && (nl === -1 || cr < nl)) {
        end = cr;
        if (cr + 1 < len) {
          next = buf.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
        } else {
          next = len;
          this.#skipLf = true;
        }
      } else if (nl !== -1) {
        end = nl;
        next = nl + 1;
      } else {
        break;
      }
      this.#line(buf, pos, end);
      pos = next;
    }
    if (pos < len) {
      this.#pending.push(buf.slice(pos));
      this.#pendingChars += len - pos;
    }
    const out = this.#out;
    this.#out = undefined;
    return out ?? EMPTY;
  }

  /** Interprets one line `buf[start, end)`. */
  #line(buf: string, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (buf.charCodeAt(start) === COLON) return; // comment (keep-alive)
    let colon = buf.indexOf(":", start);
    if (colon === -1 || colon > end) colon = end;
    let vStart = colon + 1;
    if (vStart < end && buf.charCodeAt(vStart) === SPACE) vStart++;
    const value = colon === end ? "" : buf.slice(vStart, end);
    const nameLen = colon - start;
    // Compare field names in place rather than slicing them out.
    if (nameLen === 4 && buf.startsWith("data", start)) {
      if (this.#dataParts !== undefined) {
        // A second data line: this event is not the one-long-line case after all.
        this.#data = this.#dataParts.join("");
        this.#dataParts = undefined;
      }
      this.#data = this.#data === undefined ? value : this.#data + "\n" + value;
    } else if (nameLen === 5 && buf.startsWith("event", start)) {
      this.#event = value;
    } else if (nameLen === 2 && buf.startsWith("id", start)) {
      // The spec ignores ids containing NUL.
      if (value.indexOf("\0") === -1) this.#id = this.#lastEventId = value;
    } else if (nameLen === 5 && buf.startsWith("retry", start)) {
      if (value.length > 0 && /^\d+$/.test(value)) this.#retry = this.#reconnectMs = Number(value);
    }
    // Unknown fields are ignored, as the spec requires.
  }

  /** The queued text is the start of a `data:` line that is the first data of its event (the long-line case). */
  #startsLongData(): boolean {
    const head = this.#pending[0]!;
    return !this.#atStart && this.#data === undefined && this.#dataParts === undefined && head.length > 6 && head.startsWith("data:");
  }

  #dispatch(): void {
    const data = this.#data;
    const event = this.#event;
    const id = this.#id;
    const retry = this.#retry;
    const parts = this.#dataParts;
    this.#data = this.#event = this.#id = this.#retry = this.#dataParts = undefined;
    if (parts !== undefined) {
      (this.#out ??= []).push(new LongEvent(parts, event, id, retry));
      return;
    }
    // Per spec an event with no data lines is not dispatched (its id/retry
    // still took effect above, visible through lastEventId / retry).
    if (data === undefined) return;
    // Always the same property order so every event object shares one hidden class.
    const ev: SseEvent = { data, event, id, retry, parts: undefined };
    (this.#out ??= []).push(ev);
  }
}
