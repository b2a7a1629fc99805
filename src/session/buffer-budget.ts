/**
 * One budget for the bytes the gateway holds for clients that are not
 * reading: every session's replay buffer plus the unread bytes in client
 * socket buffers (`backpressure.max_total_buffered_bytes`). Per-session caps
 * bound one client; this bounds all of them together, so 300 clients that
 * stop reading during a large broadcast cannot take the process down.
 *
 * Policy when the budget is reached (docs/protection.md):
 * - a replay buffer being written drops its own oldest entries until the
 *   total is under the budget again (a resume reports them as a gap);
 * - a client with unread bytes in its socket buffer is treated as full
 *   (non-critical messages dropped; a critical one closes it with
 *   `backpressure_dropped`), see src/middleware/backpressure.ts. Clients
 *   that keep up (empty buffer) are unaffected.
 */
export class BufferBudget {
  /** Bytes in replay buffers (JSON characters). */
  replayBytes = 0;
  /** Last-seen unread socket bytes of clients that were behind (kept by the backpressure gate). */
  socketBytes = 0;

  constructor(public limit: number) {}

  /** Total held against the budget. */
  get total(): number {
    return this.replayBytes + this.socketBytes;
  }

  /** True when the budget is used up. */
  get over(): boolean {
    return this.replayBytes + this.socketBytes > this.limit;
  }
}
