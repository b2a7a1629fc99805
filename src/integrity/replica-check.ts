import type { UpstreamConnection } from "../upstream/connection.js";
import type { UpstreamGroup } from "../upstream/manager.js";
import { LIST_KINDS } from "../routing/catalog.js";
import { fingerprintOf, modelView, type PinKind } from "./fingerprint.js";

/** One definition replicas of an upstream do not agree on: replica id -> fingerprint (null: not listed). */
export interface Disagreement {
  name: string;
  replicas: Record<string, string | null>;
}

/** Bounded like the catalog's own paging: 100 pages at most. */
async function listAll(connection: UpstreamConnection, kind: PinKind): Promise<Array<Record<string, unknown>>> {
  const spec = LIST_KINDS[kind];
  const items: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await connection.request(spec.method, cursor ? { cursor } : {}, 30_000);
    items.push(...((result[spec.key] as Array<Record<string, unknown>>) ?? []));
    cursor = result.nextCursor as string | undefined;
    if (!cursor) break;
  }
  return items;
}

/**
 * Asks every other ready replica of `group` for its list of `kind` and
 * returns the definitions whose fingerprints differ from `reference` (the
 * list the catalog fetched from `group.anyConnection()`). Run after a
 * refresh, off the call path; only for upstreams with several replicas.
 */
export async function compareReplicas(group: UpstreamGroup, kind: PinKind, reference: Map<string, { fingerprint: string }>): Promise<Disagreement[]> {
  const base = group.anyConnection();
  if (!base) return [];
  const byName = new Map<string, Record<string, string | null>>();
  const mark = (name: string, replica: string, fp: string | null) => ((byName.get(name) ?? byName.set(name, {}).get(name)!)[replica] = fp);
  for (const [name, item] of reference) mark(name, base.replica, item.fingerprint);
  const others = group.ready().map((r) => r.connection).filter((c): c is UpstreamConnection => !!c && c !== base);
  if (others.length === 0) return [];
  // Only replicas that answered are compared: one that failed to list is not "absent".
  const answered = [base];
  for (const connection of others) {
    const items = await listAll(connection, kind).catch(() => undefined);
    if (!items) continue;
    answered.push(connection);
    const seen = new Set<string>();
    for (const item of items) {
      const name = String(item.name ?? item.uriTemplate ?? "");
      seen.add(name);
      mark(name, connection.replica, fingerprintOf(modelView(kind, item)).fingerprint);
    }
    for (const name of byName.keys()) if (!seen.has(name)) mark(name, connection.replica, null);
  }
  const replicas = answered.map((c) => c.replica);
  const out: Disagreement[] = [];
  for (const [name, fps] of byName) {
    for (const r of replicas) if (!(r in fps)) fps[r] = null;
    if (new Set(replicas.map((r) => fps[r])).size > 1) out.push({ name, replicas: fps });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
