/**
 * Flow control (the guide's FlowControlledClient, without its drop): at most
 * `maxPending` messages are in the application's hands unacknowledged; the
 * rest wait here, in order, instead of being dropped. When the application
 * finishes a message, the contiguous prefix of finished messages is
 * acknowledged to the gateway (cumulatively, coalesced), which is what drives
 * the gateway's backpressure levels: a slow client stops acking, the gateway
 * slows down for it.
 */

/** What the flow controller calls back into. */
export interface FlowSink<T> {
  /** Hands one message to the application. */
  handle(seq: number, message: T): void;
  /** Acknowledges everything up to and including `seq` to the gateway. */
  ack(seq: number): void;
}

/** Options of a {@link FlowController}. */
export interface FlowOptions {
  /** Most unacknowledged messages in the application's hands. Default 50. */
  maxPending?: number;
  /** Send an ack at the latest after this many newly finished messages. Default 16. */
  ackEvery?: number;
  /** ...or this long after the first unacked finish (ms). Default 25. */
  ackDelayMs?: number;
}

/** Tracks in-hand messages and acknowledgements for one client. */
export class FlowController<T> {
  readonly maxPending: number;
  readonly ackEvery: number;
  readonly ackDelayMs: number;
  /** Seqs handed out and not finished yet. */
  #inHand = new Set<number>();
  /** Waiting for room, in seq order. */
  #queue: Array<{ seq: number; message: T }> = [];
  #queueHead = 0;
  /** Highest seq accepted (handed out or queued). */
  #accepted = 0;
  #acked = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly sink: FlowSink<T>,
    options: FlowOptions = {},
  ) {
    this.maxPending = options.maxPending ?? 50;
    this.ackEvery = options.ackEvery ?? 16;
    this.ackDelayMs = options.ackDelayMs ?? 25;
  }

  /** Messages in the application's hands. */
  get pending(): number {
    return this.#inHand.size;
  }

  /** Messages waiting for room. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Highest seq acknowledged to the gateway. */
  get acked(): number {
    return this.#acked;
  }

  /** Accepts the next message in seq order (a seq of 0 or less is never acked). */
  offer(seq: number, message: T): void {
    if (seq > this.#accepted) this.#accepted = seq;
    if (this.queued === 0 && this.#inHand.size < this.maxPending) {
      this.#give(seq, message);
    } else {
      this.#queue.push({ seq, message });
    }
  }

  /** Counts a seq that carries nothing for the application (a priming event, a skipped gap) as finished. */
  pass(seq: number): void {
    if (seq <= this.#accepted) return;
    this.#accepted = seq;
    if (this.queued === 0) this.#maybeAck();
  }

  /** The application finished `seq` (processed it, or its promise settled). */
  done(seq: number): void {
    if (!this.#inHand.delete(seq)) return;
    while (this.queued > 0 && this.#inHand.size < this.maxPending) {
      const next = this.#queue[this.#queueHead++]!;
      this.#give(next.seq, next.message);
    }
    if (this.#queueHead > 256 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#maybeAck();
  }

  /** Sends any ack still owed now (before closing or switching transport). */
  flush(): void {
    this.#clearTimer();
    const mark = this.#watermark();
    if (mark > this.#acked) {
      this.#acked = mark;
      this.sink.ack(mark);
    }
  }

  /** Starts over for a new session (seqs restart); messages still queued are kept. */
  resetSession(): void {
    this.#clearTimer();
    this.#inHand.clear();
    this.#accepted = 0;
    this.#acked = 0;
    // Old-session messages still waiting are delivered, but never acked (seq 0).
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#queue[i]!.seq = 0;
    while (this.queued > 0 && this.#inHand.size < this.maxPending) {
      const next = this.#queue[this.#queueHead++]!;
      this.sink.handle(next.seq, next.message);
    }
  }

  /** Stops the ack timer. */
  dispose(): void {
    this.#clearTimer();
  }

  #give(seq: number, message: T): void {
    if (seq > 0) this.#inHand.add(seq);
    this.sink.handle(seq, message);
  }

  /** Highest seq such that it and everything before it is finished. */
  #watermark(): number {
    if (this.#inHand.size === 0) {
      const q = this.queued > 0 ? this.#queue[this.#queueHead]!.seq - 1 : this.#accepted;
      return q;
    }
    let min = Infinity;
    for (const s of this.#inHand) if (s < min) min = s;
    return min - 1;
  }

  #maybeAck(): void {
    const mark = this.#watermark();
    if (mark <= this.#acked) return;
    if (mark - this.#acked >= this.ackEvery || this.ackDelayMs <= 0) return this.flush();
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.ackDelayMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
