import type { CallerContext } from "../protocol/caller-context.js";
import type { UpstreamConnection } from "../upstream/connection.js";

/** Methods during which an upstream may ask the client something (sampling, elicitation, roots). */
const MAY_ASK_CLIENT = new Set(["tools/call", "prompts/get", "resources/read", "completion/complete"]);

/** True when a call needs the lane: the client can be asked, and the wire cannot say who is asked. */
export function needsLane(session: CallerContext, method: string, connection: UpstreamConnection): boolean {
  if (connection.attributesRelated || !MAY_ASK_CLIENT.has(method)) return false;
  const caps = session.clientCapabilities;
  return caps.sampling !== undefined || caps.elicitation !== undefined || caps.roots !== undefined;
}

interface Lane {
  owner: CallerContext | null;
  active: number;
  queue: Array<{ session: CallerContext; run: () => void }>;
}

/**
 * Keeps server->client requests attributable on wires that do not say which
 * call they belong to (stdio, WebSocket): on one shared upstream connection,
 * calls of clients that can be asked questions run one client at a time.
 * Clients without sampling/elicitation/roots never wait here.
 * See docs/adr/0003-shared-upstream-sessions.md.
 */
export class AttributionLanes {
  readonly #lanes = new WeakMap<UpstreamConnection, Lane>();

  /** Runs `run` now if the lane is free or already this session's; otherwise queues it. */
  enter(connection: UpstreamConnection, session: CallerContext, run: () => void): void {
    let lane = this.#lanes.get(connection);
    if (!lane) this.#lanes.set(connection, (lane = { owner: null, active: 0, queue: [] }));
    if (lane.owner === null || lane.owner === session || lane.active === 0) {
      lane.owner = session;
      lane.active++;
      run();
      return;
    }
    lane.queue.push({ session, run });
  }

  /** A lane call finished; hands the lane to the next waiting client when it is free. */
  leave(connection: UpstreamConnection): void {
    const lane = this.#lanes.get(connection);
    if (!lane) return;
    lane.active = Math.max(0, lane.active - 1);
    if (lane.active > 0) return;
    lane.owner = null;
    const next = lane.queue.shift();
    if (!next) return;
    lane.owner = next.session;
    lane.active++;
    next.run();
    // Everything else that session queued can run alongside.
    for (let i = 0; i < lane.queue.length; ) {
      if (lane.queue[i]!.session === next.session) {
        const [same] = lane.queue.splice(i, 1);
        lane.active++;
        same!.run();
      } else i++;
    }
  }

  /** Drops queued work of an ended session. */
  forget(connection: UpstreamConnection, session: CallerContext): void {
    const lane = this.#lanes.get(connection);
    if (lane) lane.queue = lane.queue.filter((q) => q.session !== session);
  }
}
