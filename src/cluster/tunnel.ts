import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";

/** Header marking a request forwarded by another node (never forwarded twice). */
export const FORWARDED_HEADER = "x-mcp-gateway-forwarded-by";

/** A forwarded HTTP request, as it travels on the bus. */
export interface TunnelRequestMessage {
  t: "req";
  /** Correlation id (the forwarding node's). */
  c: string;
  /** Forwarding node. */
  f: string;
  m: string;
  u: string;
  h: IncomingHttpHeaders;
  b: string;
  /** The client's address, for logs and traces. */
  r?: string;
}

/** One piece of a forwarded request's answer: head (s, h), body data (d), end (e). */
export interface TunnelResponseMessage {
  t: "res";
  c: string;
  s?: number;
  h?: Record<string, string | number | string[]>;
  d?: string;
  e?: 1;
}

/**
 * A forwarded request rebuilt on the owning node: a readable body plus the
 * fields the listeners read (method, url, headers, socket.remoteAddress), so
 * the ordinary listener code serves it unchanged.
 */
export class TunnelRequest extends Readable {
  readonly socket: { remoteAddress?: string; encrypted?: boolean };
  readonly httpVersion = "1.1";

  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    body: string,
    remoteAddress?: string,
  ) {
    super();
    this.socket = { remoteAddress };
    if (body) this.push(body);
    this.push(null);
  }

  override _read(): void {}

  /** Typed as what the listeners expect (the subset above is all they use). */
  asIncoming(): IncomingMessage {
    return this as unknown as IncomingMessage;
  }
}

/**
 * The answer to a forwarded request, written by the ordinary listener code
 * on the owning node and shipped back piece by piece over the bus: the head
 * travels with the first data (or the end), so a JSON answer is one message
 * and an SSE stream is one message per event. `close` is emitted when the
 * forwarding node reports its client gone, or after `end`, as on a real
 * ServerResponse.
 */
export class TunnelResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  readonly writableLength = 0;
  #headers: Record<string, string | number | string[]> = {};
  #headSent = false;
  #closed = false;

  constructor(
    readonly corr: string,
    readonly send: (message: TunnelResponseMessage) => void,
  ) {
    super();
  }

  setHeader(name: string, value: string | number | string[]): this {
    this.#headers[name.toLowerCase()] = value;
    return this;
  }

  getHeader(name: string): string | number | string[] | undefined {
    return this.#headers[name.toLowerCase()];
  }

  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.#headers;
  }

  removeHeader(name: string): void {
    delete this.#headers[name.toLowerCase()];
  }

  writeHead(status: number, headers?: Record<string, string | number | string[] | undefined>): this {
    this.statusCode = status;
    if (headers) for (const [k, v] of Object.entries(headers)) if (v !== undefined) this.#headers[k.toLowerCase()] = v;
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    this.headersSent = true;
    if (!this.#headSent) this.#ship(undefined, false);
  }

  write(chunk: string | Buffer): boolean {
    if (this.writableEnded) return false;
    this.headersSent = true;
    this.#ship(String(chunk), false);
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (this.writableEnded) return this;
    this.writableEnded = true;
    this.headersSent = true;
    this.#ship(chunk === undefined ? undefined : String(chunk), true);
    setImmediate(() => this.#close());
    return this;
  }

  /** The forwarding node's client went away (or the tunnel broke). */
  destroy(): void {
    this.writableEnded = true;
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit("close");
  }

  #ship(data: string | undefined, end: boolean): void {
    const m: TunnelResponseMessage = { t: "res", c: this.corr };
    if (!this.#headSent) {
      this.#headSent = true;
      m.s = this.statusCode;
      m.h = this.#headers;
    }
    if (data) m.d = data;
    if (end) m.e = 1;
    this.send(m);
  }

  /** Typed as what the listeners expect. */
  asServerResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}
