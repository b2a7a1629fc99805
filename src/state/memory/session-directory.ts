import type { DirectoryEntry, SessionDirectory } from "../session-directory.js";

/** One process's session directory (tests, and the contract the Redis one follows). */
export class MemorySessionDirectory implements SessionDirectory {
  readonly #entries = new Map<string, { entry: DirectoryEntry; expires: number }>();

  async put(id: string, entry: DirectoryEntry, ttlMs: number): Promise<void> {
    this.#entries.set(id, { entry: structuredClone(entry), expires: Date.now() + ttlMs });
  }

  async get(id: string): Promise<DirectoryEntry | undefined> {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return structuredClone(e.entry);
  }

  async setOwner(id: string, node: string, ttlMs: number): Promise<void> {
    const e = this.#entries.get(id);
    if (e) {
      e.entry.node = node;
      e.expires = Date.now() + ttlMs;
    }
  }

  async touch(id: string, lastSeq: number, ttlMs: number): Promise<void> {
    const e = this.#entries.get(id);
    if (e) {
      e.entry.lastSeq = Math.max(e.entry.lastSeq, lastSeq);
      e.expires = Date.now() + ttlMs;
    }
  }

  async delete(id: string): Promise<void> {
    this.#entries.delete(id);
  }
}
