import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { JsonRpcMessage } from "../../protocol/jsonrpc.js";
import { rawReply } from "../../protocol/raw-reply.js";
import type { Transport } from "../../protocol/transport.js";
import { channels } from "../../telemetry/channels.js";

/** Options of a stdio upstream child. */
export interface StdioOptions {
  command: string;
  args?: string[];
  /** Extra environment; the child otherwise gets only the minimal set below. */
  env?: Record<string, string>;
  cwd?: string;
  /** Label for logs. */
  name?: string;
}

/**
 * Least privilege: a spawned server sees only what it needs to run, never the
 * gateway's secrets (admin token, Redis URL, ...).
 */
const INHERITED_ENV = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "NODE_OPTIONS", "SYSTEMROOT"];

/**
 * An MCP server run as a child process speaking newline-delimited JSON-RPC on
 * stdin/stdout. stderr lines go to the log (the `upstream` channel).
 */
export class StdioUpstreamTransport implements Transport {
  #child?: ChildProcessWithoutNullStreams;
  /** Pieces of the line being received (no newline seen yet). */
  #parts: string[] = [];
  #closed = false;
  readonly #options: StdioOptions;
  onmessage?: (message: JsonRpcMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  ondrain?: () => void;

  constructor(options: StdioOptions) {
    this.#options = options;
  }

  /** The child's pid (for stats and tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    const env: Record<string, string> = {};
    for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key]!;
    Object.assign(env, this.#options.env);
    const child = spawn(this.#options.command, this.#options.args ?? [], { env, cwd: this.#options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    this.#child = child;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => this.#onData(chunk));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => this.#onStderr(chunk));
    child.stdin.on("drain", () => this.ondrain?.());
    child.stdin.on("error", (err) => this.onerror?.(err));
    child.on("exit", (code, signal) => {
      if (channels.upstream.hasSubscribers) {
        channels.upstream.publish({ type: "exited", upstream: this.#options.name ?? this.#options.command, detail: signal ? `signal ${signal}` : `code ${code}` });
      }
      this.#finish();
    });
    return new Promise((resolve, reject) => {
      child.once("spawn", () => {
        child.removeListener("error", reject);
        child.on("error", (err) => this.onerror?.(err));
        resolve();
      });
      child.once("error", reject);
    });
  }

  #onData(chunk: string): void {
    // Messages are newline-delimited; a chunk may hold several or part of one.
    // Only the new chunk is searched and the pieces of a long line are joined
    // once, when its newline arrives: concatenating and re-scanning the whole
    // buffer per chunk made a multi-MB result quadratic (seconds of blocked loop).
    let start = 0;
    let newline = chunk.indexOf("\n");
    if (newline === -1) {
      this.#parts.push(chunk);
      return;
    }
    while (newline !== -1) {
      let line = chunk.slice(start, newline);
      if (this.#parts.length > 0) {
        this.#parts.push(line);
        const parts = this.#parts;
        this.#parts = [];
        // A multi-MB reply travels as the pieces it came in (ADR 0211): no join, no parse, no stringify.
        const raw = rawReply(parts);
        if (raw !== undefined) {
          this.onmessage?.(raw);
          start = newline + 1;
          newline = chunk.indexOf("\n", start);
          continue;
        }
        line = parts.join("");
      }
      if (line.length > 1) this.#dispatch(line);
      start = newline + 1;
      newline = chunk.indexOf("\n", start);
    }
    if (start < chunk.length) this.#parts.push(chunk.slice(start));
  }

  #dispatch(line: string): void {
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(line);
    } catch {
      this.onerror?.(new Error(`upstream ${this.#options.name ?? ""} wrote a non-JSON line: ${line.slice(0, 200)}`));
      return;
    }
    this.onmessage?.(message);
  }

  #stderrBuffer = "";
  #onStderr(chunk: string): void {
    if (!channels.upstream.hasSubscribers) return;
    const lines = (this.#stderrBuffer + chunk).split("\n");
    this.#stderrBuffer = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) channels.upstream.publish({ type: "stderr", upstream: this.#options.name ?? this.#options.command, detail: line });
  }

  send(message: JsonRpcMessage): boolean {
    const child = this.#child;
    if (!child || this.#closed || !child.stdin.writable) throw new Error("stdio upstream is not running");
    const ok = child.stdin.write(JSON.stringify(message) + "\n");
    // A write to a dead child's pipe fails at once (EPIPE) and errors the stream: the message was
    // not delivered, so say so (the caller may safely send it again) instead of leaving it pending.
    if (child.stdin.errored) throw new Error("stdio upstream is not running (write failed)");
    return ok;
  }

  /** Ends the child: stdin closed, then SIGTERM, then SIGKILL if it lingers. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || this.#closed) return;
    if (child.exitCode !== null || child.signalCode !== null) return this.#finish();
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin.end();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the child abruptly (for tests and `restart`). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.#child?.kill(signal);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}
