/**
 * In-order delivery by sequence number (the guide's MessageSequencer, made
 * lossless). Every server->client message of a gateway session carries a seq
 * that increases by one per session; connections drop, transports switch and
 * replays overlap, so messages can arrive late, twice, or with holes.
 *
 * - seq <= delivered: a duplicate (a replay overlapping what we had): dropped.
 * - seq == delivered + 1: delivered, then everything buffered behind it.
 * - otherwise: held in a reorder buffer (at most `maxBuffer` entries). When the
 *   buffer is full, or a hole stays open for `gapTimeoutMs`, the sequencer
 *   asks its owner to resume from `delivered` instead of dropping anything:
 *   the resume replays the hole and everything after it. A message that does
 *   not fit in a full buffer is therefore safe to let go: it comes back with
 *   the replay.
 * - A hole the server says it cannot fill (a `gap` frame/event, or a resume
 *   that did not fill it) is skipped with `skipThrough`, which the owner
 *   reports as a `gap` event: never a silent drop.
 */

/** What the sequencer calls back into. */
export interface SequencerSink<T> {
  /** Next message in order. */
  deliver(seq: number, message: T | undefined): void;
  /** A hole cannot be filled from the buffer: resume from `from - 1`. */
  requestResume(from: number, to: number): void;
}

/** Options of a {@link MessageSequencer}. */
export interface SequencerOptions {
  /** Reorder buffer size (the guide's maxBufferSize). Default 100. */
  maxBuffer?: number;
  /** How long a hole may stay open before a resume is requested (ms). Default 2000. */
  gapTimeoutMs?: number;
}

/**
 * Reorders sequenced messages. `message` may be undefined for a seq that
 * carries nothing (an SSE priming event): it still advances the sequence.
 */
export class MessageSequencer<T> {
  readonly maxBuffer: number;
  readonly gapTimeoutMs: number;
  #delivered = 0;
  #buffer = new Map<number, T | undefined>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resumeAskedAt = 0;

  constructor(
    readonly sink: SequencerSink<T>,
    options: SequencerOptions = {},
  ) {
    this.maxBuffer = options.maxBuffer ?? 100;
    this.gapTimeoutMs = options.gapTimeoutMs ?? 2000;
  }

  /** Highest seq delivered in order (what a resume starts after). */
  get delivered(): number {
    return this.#delivered;
  }

  /** Messages held out of order. */
  get buffered(): number {
    return this.#buffer.size;
  }

  /** Lowest buffered seq, if any. */
  get firstBuffered(): number | undefined {
    let min: number | undefined;
    for (const k of this.#buffer.keys()) if (min === undefined || k < min) min = k;
    return min;
  }

  /**
   * Offers one sequenced message: "kept" (delivered or buffered),
   * "duplicate" (already had it), or "dropped" (no room: the caller must not
   * count it as received, the resume brings it back).
   */
  push(seq: number, message: T | undefined): "kept" | "duplicate" | "dropped" {
    if (!Number.isSafeInteger(seq) || seq <= this.#delivered) return "duplicate";
    if (seq === this.#delivered + 1) {
      this.#delivered = seq;
      this.sink.deliver(seq, message);
      this.#drain();
      return "kept";
    }
    if (this.#buffer.has(seq)) return "duplicate";
    if (this.#buffer.size >= this.maxBuffer) {
      // Full: let this one go (the resume replays it) and ask for the hole now.
      this.#askResume();
      return "dropped";
    }
    this.#buffer.set(seq, message);
    this.#armTimer();
    return "kept";
  }

  /**
   * Skips a hole the server cannot fill: everything up to `to` counts as
   * delivered, and what was buffered behind it is released. Returns the range
   * actually skipped (empty when nothing was missing).
   */
  skipThrough(to: number): { from: number; to: number } | null {
    if (to <= this.#delivered) return null;
    const from = this.#delivered + 1;
    // Buffered messages inside the skipped range are still good: deliver them in order.
    for (let s = from; s <= to && this.#buffer.size > 0; s++) {
      if (this.#buffer.has(s)) {
        const m = this.#buffer.get(s);
        this.#buffer.delete(s);
        this.#delivered = s;
        this.sink.deliver(s, m);
      }
    }
    this.#delivered = to;
    this.#drain();
    return { from, to };
  }

  /** Skips the current hole (up to the first buffered seq); used when a resume could not fill it. */
  skipHole(): { from: number; to: number } | null {
    const first = this.firstBuffered;
    if (first === undefined) return null;
    return this.skipThrough(first - 1);
  }

  /** Starts over at `delivered` (a new session). Buffered messages are discarded. */
  reset(delivered = 0): void {
    this.#delivered = delivered;
    this.#buffer.clear();
    this.#resumeAskedAt = 0;
    this.#clearTimer();
  }

  /** Stops the gap timer (client closing). */
  dispose(): void {
    this.#clearTimer();
  }

  #drain(): void {
    while (this.#buffer.size > 0 && this.#buffer.has(this.#delivered + 1)) {
      const seq = this.#delivered + 1;
      const m = this.#buffer.get(seq);
      this.#buffer.delete(seq);
      this.#delivered = seq;
      this.sink.deliver(seq, m);
    }
    if (this.#buffer.size === 0) {
      this.#clearTimer();
      this.#resumeAskedAt = 0;
    } else {
      this.#armTimer(true);
    }
  }

  #askResume(): void {
    // One request per hole: a second one would only restart a resume in progress.
    const from = this.#delivered + 1;
    if (this.#resumeAskedAt === from) return;
    this.#resumeAskedAt = from;
    const first = this.firstBuffered ?? from;
    this.sink.requestResume(from, Math.max(from, first - 1));
  }

  #armTimer(restart = false): void {
    if (this.#timer !== undefined && !restart) return;
    this.#clearTimer();
    if (this.gapTimeoutMs <= 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#buffer.size > 0) this.#askResume();
    }, this.gapTimeoutMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
