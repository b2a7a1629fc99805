/**
 * Messages between nodes: one channel per node (forwarded requests, their
 * answers, takeover handshakes) and one for everybody (admin commands,
 * breaker openings). Redis pub/sub in a cluster; an in-process emitter in
 * the memory implementation.
 */
export interface Bus {
  /** Publishes; resolves with the number of subscribers that got it (0: nobody listens, e.g. a dead node). */
  publish(channel: string, message: string): Promise<number>;
  /** Subscribes `handler` to `channel` (kept across reconnects). */
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  /** How many subscribers `channel` has now. */
  receivers(channel: string): Promise<number>;
  close(): Promise<void>;
}
