/**
 * The HTTP side of one modern (2026-07-28) request: its answer goes back on
 * its own POST, as plain JSON when the answer is the first thing to send, or
 * as an SSE stream when progress or logs come first. There is no session and
 * no resumability on this wire: a stream that breaks is the client's cue to
 * re-issue, and closing it cancels the request (`onAbort`).
 */
import type { ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from "../protocol/jsonrpc.js";
import type { GatewayError } from "../errors/index.js";
import { toModernWire } from "../eras/modern/errors.js";

/** One request's reply channel on the modern wire. */
export class ModernExchange {
  #streaming = false;
  #done = false;
  /** The client went away before the answer (on this wire that cancels the request). */
  onAbort?: () => void;

  constructor(
    readonly res: ServerResponse,
    readonly id: JsonRpcId,
  ) {
    res.once("close", () => {
      if (this.#done) return;
      this.#done = true;
      this.onAbort?.();
    });
  }

  /** True once the answer was sent (or the client left). */
  get done(): boolean {
    return this.#done;
  }

  /** Sends a notification ahead of the answer (switches the response to SSE). */
  notify(message: JsonRpcMessage): boolean {
    if (this.#done) return false;
    this.#startStream();
    return this.res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** Sends the answer and ends the exchange. */
  finish(response: JsonRpcResponse, status = 200): void {
    if (this.#done) return;
    this.#done = true;
    const json = JSON.stringify(response);
    if (this.#streaming) {
      this.res.end(`event: message\ndata: ${json}\n\n`);
      return;
    }
    this.res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
    this.res.end(json);
  }

  /** Answers with an error in the revision's terms (HTTP status only when nothing was streamed yet). */
  fail(err: GatewayError): void {
    const { status, body } = toModernWire(err, this.id);
    this.finish(body, status);
  }

  #startStream(): void {
    if (this.#streaming) return;
    this.#streaming = true;
    this.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" });
    this.res.flushHeaders();
  }
}

/** Answers a modern request that never got an exchange (envelope errors, removed methods). */
export function sendModernError(res: ServerResponse, err: GatewayError, id: JsonRpcId | null): void {
  const { status, body } = toModernWire(err, id);
  const json = JSON.stringify(body);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(json) };
  if (err.details.retry_after !== undefined) headers["retry-after"] = String(err.details.retry_after);
  if (err.code === "method_not_allowed") headers.allow = "POST";
  res.writeHead(status, headers);
  res.end(json);
}
