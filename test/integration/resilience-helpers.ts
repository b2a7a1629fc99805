/** Shared bits of the resilience integration tests (not a test file itself). */
import diagnostics_channel from "node:diagnostics_channel";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Gateway } from "../../src/gateway.js";
import type { Resilience } from "../../src/upstream/resilience-service.js";
import type { StdioUpstreamTransport } from "../../src/upstream/transports/stdio.js";

/** Records a diagnostics channel; `waitFor` resolves on the first (past or future) matching event. */
export function record<T>(name: string) {
  const events: T[] = [];
  const waiters: Array<{ pred: (e: T) => boolean; resolve: (e: T) => void }> = [];
  const fn = (m: unknown) => {
    events.push(m as T);
    for (const w of [...waiters]) if (w.pred(m as T)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m as T);
    }
  };
  diagnostics_channel.subscribe(name, fn);
  return {
    events,
    /** Bounded wait: rejects after `timeoutMs` naming what it waited for. */
    waitFor(pred: (e: T) => boolean, timeoutMs: number, what: string, from = 0): Promise<T> {
      const hit = events.slice(from).find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const w = { pred, resolve: (e: T) => (clearTimeout(timer), resolve(e)) };
        waiters.push(w);
      });
    },
    close: () => diagnostics_channel.unsubscribe(name, fn),
  };
}

/** An SDK client over Streamable HTTP that names itself `clientId`. */
export async function connectClient(url: string, clientId: string): Promise<Client> {
  const c = new Client({ name: `resilience-${clientId}`, version: "1" });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp?client_id=${encodeURIComponent(clientId)}`)));
  return c;
}

/** The gateway's resilience layer (installed by the Gateway constructor). */
export function resilienceOf(gateway: Gateway): Resilience {
  return gateway.resilience as Resilience;
}

/** `count` client ids whose ring owner in `upstream` is replica `replicaId`. */
export function clientsOwnedBy(gateway: Gateway, upstream: string, replicaId: string, count: number, prefix = "c"): string[] {
  const ring = resilienceOf(gateway).core.router.groups.get(upstream)!.ring;
  const out: string[] = [];
  for (let i = 0; out.length < count && i < 10_000; i++) if (ring.get(`${prefix}${i}`) === replicaId) out.push(`${prefix}${i}`);
  return out;
}

/** The pid of a stdio replica's child. */
export function pidOf(gateway: Gateway, replicaId: string): number | undefined {
  for (const r of gateway.manager.replicas()) if (r.spec.id === replicaId) return (r.connection?.transport as StdioUpstreamTransport | undefined)?.pid;
  return undefined;
}

/** Data of an McpError the SDK threw for a JSON-RPC error reply. */
export function errorCode(err: unknown): string | undefined {
  return ((err as { data?: { error?: string } }).data?.error) ?? undefined;
}
