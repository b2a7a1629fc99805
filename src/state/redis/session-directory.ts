import { decodeEntry, encodeEntry, type DirectoryEntry, type SessionDirectory } from "../session-directory.js";
import type { RedisKeys, RedisLink } from "./connection.js";

/** The session directory as one Redis hash per session, with a TTL refreshed while the session lives. */
export class RedisSessionDirectory implements SessionDirectory {
  constructor(
    readonly link: RedisLink,
    readonly keys: RedisKeys,
  ) {}

  async put(id: string, entry: DirectoryEntry, ttlMs: number): Promise<void> {
    const key = this.keys.session(id);
    await this.link.cmd.multi().hset(key, encodeEntry(entry)).pexpire(key, ttlMs).exec();
  }

  async get(id: string): Promise<DirectoryEntry | undefined> {
    return decodeEntry(await this.link.cmd.hgetall(this.keys.session(id)));
  }

  async setOwner(id: string, node: string, ttlMs: number): Promise<void> {
    const key = this.keys.session(id);
    await this.link.cmd.multi().hset(key, "node", node).pexpire(key, ttlMs).exec();
  }

  async touch(id: string, lastSeq: number, ttlMs: number): Promise<void> {
    const key = this.keys.session(id);
    await this.link.cmd.multi().hset(key, "lastSeq", String(lastSeq)).pexpire(key, ttlMs).exec();
  }

  async delete(id: string): Promise<void> {
    await this.link.cmd.del(this.keys.session(id), this.keys.events(id));
  }
}
