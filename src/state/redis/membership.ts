import type { Membership, NodeInfo } from "../membership.js";
import type { RedisKeys, RedisLink } from "./connection.js";

/** Membership as one key per node with a TTL (the heartbeat); listing scans the prefix. */
export class RedisMembership implements Membership {
  constructor(
    readonly link: RedisLink,
    readonly keys: RedisKeys,
  ) {}

  async announce(node: NodeInfo, ttlMs: number): Promise<void> {
    await this.link.cmd.set(this.keys.node(node.id), JSON.stringify(node), "PX", ttlMs);
  }

  async list(): Promise<NodeInfo[]> {
    const keys: string[] = [];
    let cursor = "0";
    // Bounded: a cluster has a handful of nodes; 50 rounds cover any sane keyspace.
    for (let i = 0; i < 50; i++) {
      const [next, found] = await this.link.cmd.scan(cursor, "MATCH", this.keys.nodes, "COUNT", 500);
      keys.push(...found);
      cursor = next;
      if (cursor === "0") break;
    }
    if (keys.length === 0) return [];
    const values = await this.link.cmd.mget(...keys);
    const out: NodeInfo[] = [];
    for (const v of values) {
      if (!v) continue;
      try {
        out.push(JSON.parse(v) as NodeInfo);
      } catch {
        // A value we cannot read is not a node.
      }
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async leave(id: string): Promise<void> {
    await this.link.cmd.del(this.keys.node(id));
  }
}
