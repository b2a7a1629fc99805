import type { ReplayEntry } from "../session/replay-buffer.js";

/**
 * The cluster's event log: every recorded outbound message of a session,
 * kept (bounded per session) where another node can read it, so a client
 * whose node died resumes elsewhere from its last event id. `append` is on
 * the hot path: it only queues; writes go out in batches.
 */
export interface EventLog {
  /** Queues one entry (never blocks, never throws). */
  append(sessionId: string, entry: ReplayEntry): void;
  /** Entries after `afterSeq`, oldest first. */
  read(sessionId: string, afterSeq?: number): Promise<ReplayEntry[]>;
  /** Writes what is queued; resolves when the store has it (or it was dropped). */
  flush(): Promise<void>;
  /** Forgets a session's log. */
  delete(sessionId: string): Promise<void>;
  /** Entries queued and not yet written. */
  readonly pending: number;
  /** Entries dropped because the queue was full (store unreachable). */
  readonly dropped: number;
}
