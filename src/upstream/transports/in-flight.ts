/**
 * Counts the HTTP exchanges an upstream transport has outstanding and turns
 * the count into the Transport backpressure contract: `send` returns false
 * once `max` are outstanding, and `ondrain` is due when the count has fallen
 * to half of that. Shared by the Streamable HTTP and legacy SSE transports
 * (the WebSocket transport watches the socket buffer instead).
 */
export class InFlightLimit {
  readonly max: number;
  readonly #lowWater: number;
  #count = 0;
  #backpressured = false;

  constructor(max: number) {
    this.max = max;
    this.#lowWater = max >> 1;
  }

  /** One more exchange has started. */
  begin(): void {
    this.#count++;
  }

  /** What `send` returns: false (and backpressured from now on) once `max` are outstanding. */
  accepting(): boolean {
    if (this.#count >= this.max) {
      this.#backpressured = true;
      return false;
    }
    return true;
  }

  /** One exchange has settled; true when this ends backpressure (the caller fires `ondrain`). */
  end(): boolean {
    this.#count--;
    if (this.#backpressured && this.#count <= this.#lowWater) {
      this.#backpressured = false;
      return true;
    }
    return false;
  }
}
