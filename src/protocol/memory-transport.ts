import type { JsonRpcMessage } from "./jsonrpc.js";
import type { MessageExtra, Transport } from "./transport.js";

/**
 * An in-memory linked pair of transports for tests: what one sends, the other
 * receives on the next microtask (never synchronously, like a real wire).
 */
export class MemoryTransport implements Transport {
  #peer?: MemoryTransport;
  #closed = false;
  onmessage?: (message: JsonRpcMessage, extra?: MessageExtra) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  ondrain?: () => void;
  sessionId?: string;

  /** Creates two transports wired to each other. */
  static pair(): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport();
    const b = new MemoryTransport();
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  async start(): Promise<void> {}

  send(message: JsonRpcMessage, extra?: MessageExtra): boolean {
    if (this.#closed) throw new Error("transport closed");
    const peer = this.#peer;
    // A structured clone keeps the two sides from sharing objects, as a wire would.
    const copy = structuredClone(message);
    queueMicrotask(() => peer?.onmessage?.(copy, extra));
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
    const peer = this.#peer;
    if (peer && !peer.#closed) queueMicrotask(() => void peer.close());
  }
}
