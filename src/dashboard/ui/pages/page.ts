import type { Live } from "../live.js";

/** One page of the console: built once on mount, refreshed from the live data, torn down on leave. */
export interface Page {
  mount(root: HTMLElement, live: Live): void;
  /** Called on every live frame (throttled to one per animation frame). */
  update(live: Live): void;
  unmount?(): void;
}

/**
 * Polls an admin endpoint while the page is open (every `ms`, and at once):
 * the client and connection views are admin data, not on the read-only stream.
 */
export function poller(ms: number, fn: () => Promise<void>): { stop(): void; now(): void } {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = async () => {
    clearTimeout(timer);
    try {
      await fn();
    } finally {
      if (!stopped) timer = setTimeout(run, ms);
    }
  };
  void run();
  return { stop: () => ((stopped = true), clearTimeout(timer)), now: () => void run() };
}
