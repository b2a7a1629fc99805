import { GatewayError, toJsonRpcError } from "../errors/index.js";
import type { SessionRegistry } from "./registry.js";

/** Where drain learns that a call settled (the relay's `onCallSettled` hook). */
export interface SettleSource {
  onCallSettled?: () => void;
}

/** Client calls still waiting for an upstream answer, over all sessions. */
export function inFlightCalls(registry: SessionRegistry): number {
  let n = 0;
  for (const s of registry.all()) n += s.inflight?.size ?? 0;
  return n;
}

/**
 * Waits until no client call is in flight, or `timeoutMs` passes. Event
 * driven: re-counts only when the relay says a call settled. Resolves true
 * when everything finished, false at the deadline.
 */
export function waitForDrain(registry: SessionRegistry, relay: SettleSource, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (drained: boolean) => {
      clearTimeout(timer);
      relay.onCallSettled = undefined;
      resolve(drained);
    };
    if (inFlightCalls(registry) === 0) return done(true);
    relay.onCallSettled = () => {
      if (inFlightCalls(registry) === 0) done(true);
    };
    timer = setTimeout(() => done(false), timeoutMs);
  });
}

/**
 * Answers every call still in flight with `shutting_down`, so no client is
 * left without a reply when the drain deadline passes. Returns how many.
 */
export function failInFlight(registry: SessionRegistry): number {
  let n = 0;
  for (const session of registry.all()) {
    if (!session.inflight || session.inflight.size === 0) continue;
    for (const id of [...session.inflight.keys()]) {
      session.send(toJsonRpcError(new GatewayError("shutting_down"), id), id);
      n++;
    }
  }
  return n;
}
