import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { SyncWritable } from "./sync-writable.js";

/**
 * An append-only log file rotated by size: past `maxSize` bytes, `x.log`
 * becomes `x.log.1` (older ones shift up) and at most `maxFiles` rotated
 * files are kept. Writes are synchronous so `grep` sees a line as soon as
 * it is logged and nothing is lost on a crash; log lines are small and off
 * the message hot path (ADR 0061: our own rotation instead of pino-roll,
 * which is not installed and names files by date).
 */
export class RotatingFile extends SyncWritable {
  #fd: number;
  #size: number;

  constructor(
    readonly path: string,
    readonly maxSize: number,
    readonly maxFiles: number,
  ) {
    super();
    mkdirSync(dirname(path), { recursive: true });
    this.#fd = openSync(path, "a");
    this.#size = fstatSync(this.#fd).size;
  }

  /** Writes one chunk now (pino calls `write` synchronously per line). */
  protected override writeText(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.#size > 0 && this.#size + bytes > this.maxSize) this.rotate();
    try {
      writeSync(this.#fd, text);
      this.#size += bytes;
    } catch {
      // a full disk must not take the gateway down with it
    }
  }

  /** Shifts `x.log.N-1` -> `x.log.N`, `x.log` -> `x.log.1`, and reopens `x.log`. */
  rotate(): void {
    closeSync(this.#fd);
    rmSync(`${this.path}.${this.maxFiles}`, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
    this.#fd = openSync(this.path, "a");
    this.#size = 0;
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    cb();
  }

  /** Closes the file descriptor. */
  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}
