import type { Membership, NodeInfo } from "../membership.js";

/** One process's membership table (tests). */
export class MemoryMembership implements Membership {
  readonly #nodes = new Map<string, { info: NodeInfo; expires: number }>();

  async announce(node: NodeInfo, ttlMs: number): Promise<void> {
    this.#nodes.set(node.id, { info: { ...node }, expires: Date.now() + ttlMs });
  }

  async list(): Promise<NodeInfo[]> {
    const now = Date.now();
    const out: NodeInfo[] = [];
    for (const [id, n] of this.#nodes) {
      if (n.expires <= now) this.#nodes.delete(id);
      else out.push({ ...n.info });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async leave(id: string): Promise<void> {
    this.#nodes.delete(id);
  }
}
