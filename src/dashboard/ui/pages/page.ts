import type { Live } from "../live.js";
import { auth } from "../admin.js";
import { fill } from "../dom.js";
import { tokenNotice } from "./needs-token.js";

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

/**
 * A page of admin data (clients, a client, connections): polled from the
 * admin API every `everyMs` while mounted, with the admin token; without one
 * it says so. Subclasses build the page in `mount` (then `startPolling()`)
 * and fill `body` in `load`.
 */
export abstract class PolledAdminPage implements Page {
  protected poll?: ReturnType<typeof poller>;

  constructor(protected readonly body: HTMLElement, private readonly everyMs: number) {}

  abstract mount(root: HTMLElement, live: Live): void;
  protected abstract load(): Promise<void>;

  protected startPolling(): void {
    this.poll = poller(this.everyMs, () => (auth.token ? this.load() : Promise.resolve(void fill(this.body, tokenNotice()))));
  }

  update(): void {}

  unmount(): void {
    this.poll?.stop();
  }
}
