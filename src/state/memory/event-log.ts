import type { ReplayEntry } from "../../session/replay-buffer.js";
import type { EventLog } from "../event-log.js";

/** One process's event log, bounded per session like the Redis stream (MAXLEN). */
export class MemoryEventLog implements EventLog {
  readonly #logs = new Map<string, ReplayEntry[]>();
  readonly pending = 0;
  readonly dropped = 0;

  constructor(readonly maxPerSession: number) {}

  append(sessionId: string, entry: ReplayEntry): void {
    let log = this.#logs.get(sessionId);
    if (!log) this.#logs.set(sessionId, (log = []));
    log.push(entry);
    if (log.length > this.maxPerSession) log.splice(0, log.length - this.maxPerSession);
  }

  async read(sessionId: string, afterSeq = 0): Promise<ReplayEntry[]> {
    return (this.#logs.get(sessionId) ?? []).filter((e) => e.seq > afterSeq).map((e) => ({ ...e }));
  }

  async flush(): Promise<void> {}

  async delete(sessionId: string): Promise<void> {
    this.#logs.delete(sessionId);
  }
}
