import type { Dispatcher } from "undici";
import type { JsonRpcId } from "../../protocol/jsonrpc.js";
import type { MessageExtra } from "../../protocol/transport.js";
import { ERROR_BODY_LIMIT, STREAM_DECODE } from "./errors.js";
import { SseParser } from "./sse-parser.js";

/**
 * What a {@link PostExchange} reports to its transport. One object per
 * transport (not per POST): every hook gets the exchange it speaks for.
 */
export interface PostSink {
  /** A 2xx answer's headers arrived (e.g. the initialize response's session id). */
  started(ex: PostExchange, rawHeaders: Buffer[]): void;
  /** One message: a JSON body (as the pieces it was decoded in) or one SSE event's data. True if it held the reply to `ex.id`. */
  message(ex: PostExchange, text: string | string[]): boolean;
  /** The exchange is over: completed (`err` undefined) or failed / aborted. Called exactly once. */
  ended(ex: PostExchange, err: Error | undefined): void;
}

const MODE_NONE = 0;
const MODE_JSON = 1;
const MODE_SSE = 2;
const MODE_ERROR = 3;

/** The reason a POST is aborted by us (cancelled request, error body long enough). */
class ExchangeAborted extends Error {
  override name = "ExchangeAborted";
}

/**
 * One POST of the Streamable HTTP upstream transport as an undici dispatch
 * handler (the callback API undici's HTTP/1.1 client drives natively): no
 * Readable, no async iterator, no promise per chunk, no AbortController.
 * Chunks are decoded without a TextDecoder while they end on an ASCII byte
 * (an SSE event ends in "\n\n", a JSON body in "}"), so a multi-byte
 * character can never be split; the first chunk that does not gets a
 * streaming decoder for the rest of the body.
 */
export class PostExchange implements Dispatcher.DispatchHandler {
  /** The HTTP status, 0 until the response headers arrived. */
  status = 0;
  /** The SSE parser of a `text/event-stream` answer (what a resume continues from). */
  parser: SseParser | undefined;
  /** True once the reply to `id` was delivered. */
  answered = false;
  /** Cancelled by us ({@link cancel}): its end is no failure. */
  cancelled = false;
  /**
   * Set for an SSE answer to a request: one object per POST stream, shared by all its messages
   * (`relatedRequestId` = the POSTed request's id). A JSON body's message has none.
   */
  extra: MessageExtra | undefined;
  #mode = MODE_NONE;
  /** A JSON or error body, decoded piece by piece. */
  #parts: string[] | undefined;
  #chars = 0;
  #decoder: TextDecoder | undefined;
  #abort: ((err: Error) => void) | undefined;
  #done = false;

  constructor(
    readonly sink: PostSink,
    /** The POSTed message's method (undefined for a response we send back). */
    readonly method: string | undefined,
    /** The request's id (undefined for notifications and responses). */
    readonly id: JsonRpcId | undefined,
    /** The session this POST speaks for: a 404 expires it, not whatever session is current by then. */
    readonly sid: string | undefined,
  ) {}

  /** Ends the exchange from our side (the modern wire's cancellation): closes its stream. */
  cancel(): void {
    this.cancelled = true;
    this.#abort?.(new ExchangeAborted("request cancelled"));
  }

  /** The error body read so far (at most about 64 KiB). */
  errorText(): string {
    return this.#parts === undefined ? "" : this.#parts.join("");
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.cancelled) abort(new ExchangeAborted("request cancelled"));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // Informational (1xx) answers come before the real one: wait for it.
    if (statusCode < 200) return true;
    this.status = statusCode;
    if (statusCode < 200 || statusCode >= 300) {
      this.#mode = MODE_ERROR;
      this.#parts = [];
      return true;
    }
    this.sink.started(this, rawHeaders);
    if (contentTypeIsSse(rawHeaders)) {
      this.#mode = MODE_SSE;
      this.parser = new SseParser();
      if (this.id !== undefined) this.extra = { relatedRequestId: this.id };
    } else {
      this.#mode = MODE_JSON;
      this.#parts = [];
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    const text = this.#decode(chunk);
    if (this.#mode === MODE_SSE) {
      const events = this.parser!.feed(text);
      for (let i = 0; i < events.length; i++) {
        const ev = events[i]!;
        // Empty data is a priming event (it only carries an id); other event types are not MCP.
        if (ev.event !== undefined && ev.event !== "message") continue;
        if (ev.parts !== undefined) {
          if (this.sink.message(this, ev.parts)) this.answered = true;
          continue;
        }
        if (ev.data.length === 0) continue;
        if (this.sink.message(this, ev.data)) this.answered = true;
      }
      return true;
    }
    this.#parts!.push(text);
    this.#chars += text.length;
    if (this.#mode === MODE_ERROR && this.#chars >= ERROR_BODY_LIMIT) {
      // Enough to find the upstream's error message: stop reading (the status alone says enough).
      this.#abort?.(new ExchangeAborted("error body truncated"));
    }
    return true;
  }

  onComplete(): void {
    if (this.#decoder !== undefined && this.#parts !== undefined) {
      const rest = this.#decoder.decode();
      if (rest.length > 0) this.#parts.push(rest);
    }
    if (this.#mode === MODE_JSON) {
      const parts = this.#parts!;
      this.#parts = undefined;
      if (this.#chars > 0 && this.sink.message(this, parts.length === 1 ? parts[0]! : parts)) this.answered = true;
    }
    this.#end(undefined);
  }

  onError(err: Error): void {
    // A truncated error body is a complete one as far as we are concerned.
    this.#end(this.#mode === MODE_ERROR ? undefined : err);
  }

  #end(err: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.sink.ended(this, err);
  }

  #decode(chunk: Buffer): string {
    if (this.#decoder === undefined) {
      // A chunk ending in an ASCII byte cannot end inside a UTF-8 sequence.
      if (chunk.length === 0 || chunk[chunk.length - 1]! < 0x80) {
        const text = chunk.toString("utf8");
        // TextDecoder drops a leading BOM; so do we (only the body's very first chunk can carry one).
        return this.#chars === 0 && this.#mode !== MODE_SSE && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
      }
      // A leading BOM is dropped only at the very start of a body (an SSE parser drops its own).
      this.#decoder = new TextDecoder("utf-8", { ignoreBOM: this.#mode === MODE_SSE || this.#chars > 0 });
    }
    return this.#decoder.decode(chunk, STREAM_DECODE);
  }
}

/** Whether the raw (name, value, ...) response headers say `content-type: text/event-stream`. */
function contentTypeIsSse(raw: Buffer[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toString("latin1").toLowerCase() === "content-type") {
      return raw[i + 1]!.toString("latin1").trimStart().toLowerCase().startsWith("text/event-stream");
    }
  }
  return false;
}

/** The first value of response header `name` (lower case) in raw (name, value, ...) headers. */
export function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toString("latin1").toLowerCase() === name) return raw[i + 1]!.toString("latin1");
  }
  return undefined;
}
