import { Writable } from "node:stream";

/**
 * A Writable that handles each chunk synchronously inside `write` (pino calls
 * `write(string)` once per record and expects the line handled by the time it
 * returns). Subclasses implement {@link SyncWritable.writeText}; `write`
 * always reports "not full" and calls the callback at once, and `_write`
 * (used by `pipe`/`end(chunk)`) routes through the same path.
 */
export abstract class SyncWritable extends Writable {
  constructor() {
    super({ decodeStrings: false });
  }

  /** Handles one chunk of text (one or more newline-terminated lines). */
  protected abstract writeText(text: string): void;

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    this.writeText(typeof chunk === "string" ? chunk : String(chunk));
    const callback = typeof encoding === "function" ? encoding : cb;
    if (typeof callback === "function") (callback as () => void)();
    return true;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.write(chunk);
    cb();
  }
}
