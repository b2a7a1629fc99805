import { createHash } from "node:crypto";

/** One node on the ring: a replica id with its weight. */
export interface RingNode {
  id: string;
  weight: number;
}

/** Per node: how many virtual points it owns and what share of the ring they cover. */
export interface RingShare {
  id: string;
  weight: number;
  vnodes: number;
  /** Fraction of the 32-bit key space this node owns (0..1). */
  share: number;
}

/**
 * Murmur3's 32-bit finalizer over FNV-1a: FNV alone leaves sequential ids
 * ("client-1", "client-2", ...) clustered on the ring; the avalanche spreads them.
 */
export function hashKey(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A weighted consistent-hash ring (ketama layout: each md5 of `<id>-<n>` gives
 * four points). A node gets `round(vnodes * weight)` points, so adding or
 * removing one of N equal nodes moves only about 1/N of the keys.
 * Lookups are a binary search over a sorted Uint32Array: no allocation.
 */
export class HashRing {
  readonly #nodes = new Map<string, RingNode>();
  #points = new Uint32Array(0);
  /** Owner of each point, as an index into #ids. */
  #owners = new Uint16Array(0);
  #ids: string[] = [];

  constructor(
    nodes: readonly RingNode[] = [],
    readonly vnodes = 150,
  ) {
    for (const n of nodes) this.#nodes.set(n.id, { id: n.id, weight: n.weight });
    this.#build();
  }

  /** Node ids on the ring, in insertion order. */
  get ids(): readonly string[] {
    return this.#ids;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Adds (or re-weights) a node and rebuilds the ring. */
  add(id: string, weight = 1): void {
    this.#nodes.set(id, { id, weight });
    this.#build();
  }

  /** Removes a node and rebuilds the ring. */
  remove(id: string): boolean {
    const had = this.#nodes.delete(id);
    if (had) this.#build();
    return had;
  }

  /** Index (into `ids`) of the first point at or after the key's hash. */
  #slot(key: string): number {
    const h = hashKey(key);
    const points = this.#points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  /** Index (into `ids`) of the node that owns `key`; -1 on an empty ring. */
  indexOf(key: string): number {
    if (this.#points.length === 0) return -1;
    return this.#owners[this.#slot(key)]!;
  }

  /** The node that owns `key`, or undefined on an empty ring. */
  get(key: string): string | undefined {
    if (this.#points.length === 0) return undefined;
    return this.#ids[this.#owners[this.#slot(key)]!];
  }

  /**
   * The node owning `key` followed by the other nodes in ring order (each once):
   * the failover order for that key. `into` is reused to avoid allocation.
   */
  order(key: string, into: number[] = []): number[] {
    into.length = 0;
    const n = this.#points.length;
    if (n === 0) return into;
    const wanted = this.#ids.length;
    for (let i = this.#slot(key), seen = 0; seen < n && into.length < wanted; seen++, i = i + 1 === n ? 0 : i + 1) {
      const owner = this.#owners[i]!;
      if (!into.includes(owner)) into.push(owner);
    }
    return into;
  }

  /** Per node: weight, vnode count, and the share of the key space it owns. */
  distribution(): RingShare[] {
    const owned = new Map<number, number>();
    const n = this.#points.length;
    for (let i = 0; i < n; i++) {
      // Point i owns the arc from the previous point (exclusive) to itself.
      const prev = i === 0 ? this.#points[n - 1]! - 2 ** 32 : this.#points[i - 1]!;
      const arc = this.#points[i]! - prev;
      const o = this.#owners[i]!;
      owned.set(o, (owned.get(o) ?? 0) + arc);
    }
    const vn = new Map<number, number>();
    for (const o of this.#owners) vn.set(o, (vn.get(o) ?? 0) + 1);
    return this.#ids.map((id, i) => ({ id, weight: this.#nodes.get(id)!.weight, vnodes: vn.get(i) ?? 0, share: n ? (owned.get(i) ?? 0) / 2 ** 32 : 0 }));
  }

  #build(): void {
    this.#ids = [...this.#nodes.keys()];
    const pts: Array<[number, number]> = [];
    this.#ids.forEach((id, idx) => {
      const count = Math.max(1, Math.round(this.vnodes * this.#nodes.get(id)!.weight));
      for (let i = 0; i < Math.ceil(count / 4); i++) {
        const digest = createHash("md5").update(`${id}-${i}`).digest();
        for (let k = 0; k < 4 && i * 4 + k < count; k++) pts.push([digest.readUInt32LE(k * 4), idx]);
      }
    });
    // Ties (astronomically rare) resolve by id order so every node builds the same ring.
    pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#points = Uint32Array.from(pts, (p) => p[0]);
    this.#owners = Uint16Array.from(pts, (p) => p[1]);
  }
}
