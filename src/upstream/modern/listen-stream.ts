import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { CallSink, PendingCall } from "../connection.js";
import { log } from "../../telemetry/channels.js";
import { META } from "../handshake/envelope.js";

/** The `subscriptions/listen` filter of revision 2026-07-28. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** What the listen stream needs of its connection. */
export interface ListenHost {
  readonly upstream: string;
  readonly capabilities: Record<string, any>;
  isOpen(): boolean;
  /** Sends a gateway-issued request as `call` (id rewriting, envelope). */
  forward(request: JsonRpcRequest, call: PendingCall): void;
  /** Ends an open listen request: closes its HTTP stream, or sends `notifications/cancelled` on stdio. */
  cancel(call: PendingCall): void;
}

/** Never swept: a listen stream lives as long as the connection. */
const NO_DEADLINE = Number.MAX_SAFE_INTEGER;
/** Consecutive failed opens before the stream gives up (logged; the next subscribe tries again). */
const MAX_FAILURES = 5;

/**
 * The gateway's one `subscriptions/listen` stream to a modern upstream: it
 * stands in for the legacy push channel (list_changed notifications and
 * `resources/subscribe`). The filter is the union of what the catalog needs
 * (list changes, where the upstream offers them) and the URIs legacy clients
 * subscribed to; a change of filter opens a new stream first and closes the
 * old one once the new one is acknowledged, so no update falls in between.
 */
export class ListenStream {
  readonly #uris = new Set<string>();
  #current?: PendingCall;
  /** Listen requests still open upstream (the current one, and the old one until the new one is acknowledged). */
  readonly #open = new Set<PendingCall>();
  #failures = 0;
  #retry?: NodeJS.Timeout;
  /** Callers waiting for the stream that carries their change to be acknowledged. */
  #waiting = new Map<PendingCall, Array<(ok: boolean, why?: string) => void>>();

  constructor(readonly host: ListenHost) {}

  /** True when `id` is the request id of the stream now open (its notifications are ours). */
  owns(upstreamId: unknown): boolean {
    return this.#current !== undefined && this.#current.upstreamId === upstreamId;
  }

  /** Open listen requests: they are background streams, not calls in flight. */
  get openCount(): number {
    return this.#open.size;
  }

  /** URIs legacy clients hold on this upstream. */
  get uris(): ReadonlySet<string> {
    return this.#uris;
  }

  /** Opens the stream if the filter asks for anything. */
  start(): void {
    void this.#reopen();
  }

  /** Adds or removes a subscribed URI; resolves once the upstream acknowledged the new filter. */
  change(uri: string, on: boolean): Promise<void> {
    if (on === this.#uris.has(uri)) return Promise.resolve();
    if (on) this.#uris.add(uri);
    else this.#uris.delete(uri);
    this.#failures = 0;
    return this.#reopen();
  }

  /**
   * Consumes the stream's acknowledgement; other notifications lose their
   * `subscriptionId` stamp (legacy consumers do not know it) and go on.
   */
  inbound(message: JsonRpcNotification): boolean {
    if (message.method !== "notifications/subscriptions/acknowledged") return false;
    const id = (message.params?._meta as Record<string, unknown> | undefined)?.[META.subscriptionId];
    for (const [call, waiters] of this.#waiting) {
      if (call.upstreamId !== id) continue;
      this.#waiting.delete(call);
      this.#failures = 0;
      for (const w of waiters) w(true);
    }
    return true;
  }

  /** Connection gone: nothing more to open. */
  stop(): void {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const waiters of this.#waiting.values()) for (const w of waiters) w(false, "connection closed");
    this.#waiting.clear();
    this.#open.clear();
    this.#current = undefined;
  }

  #cancel(call: PendingCall): void {
    if (!this.#open.delete(call)) return;
    this.host.cancel(call);
  }

  #filter(): ListenFilter | undefined {
    const caps = this.host.capabilities;
    const filter: ListenFilter = {};
    if (caps.tools?.listChanged) filter.toolsListChanged = true;
    if (caps.prompts?.listChanged) filter.promptsListChanged = true;
    if (caps.resources?.listChanged) filter.resourcesListChanged = true;
    if (this.#uris.size > 0) filter.resourceSubscriptions = [...this.#uris];
    return Object.keys(filter).length > 0 ? filter : undefined;
  }

  #reopen(): Promise<void> {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    const old = this.#current;
    const filter = this.#filter();
    if (!this.host.isOpen() || filter === undefined) {
      this.#current = undefined;
      if (old) this.#cancel(old);
      return Promise.resolve();
    }
    const now = Date.now();
    const sink: CallSink = { onUpstreamResponse: (response, call) => this.#ended(response, call) };
    const call: PendingCall = { upstreamId: 0, originalId: 0, method: "subscriptions/listen", sink, startedAt: now, deadline: NO_DEADLINE };
    const done = new Promise<void>((resolve, reject) => {
      this.#waiting.set(call, [(ok, why) => (ok ? resolve() : reject(new Error(why ?? "listen stream failed")))]);
    });
    // The old stream keeps delivering until the new one is acknowledged.
    done.then(() => old && this.#cancel(old), () => {}).catch(() => {});
    this.#current = call;
    this.#open.add(call);
    try {
      this.host.forward({ jsonrpc: "2.0", id: 0, method: "subscriptions/listen", params: { notifications: filter } }, call);
    } catch (err) {
      this.#ended({ jsonrpc: "2.0", id: 0, error: { code: -32603, message: (err as Error).message } }, call);
    }
    return done;
  }

  /** The upstream ended a stream (a result: graceful close; an error: refused or broken). */
  #ended(response: JsonRpcResponse, call: PendingCall): void {
    const why = "error" in response ? response.error.message : "closed by the upstream";
    this.#open.delete(call);
    const waiters = this.#waiting.get(call);
    this.#waiting.delete(call);
    if (waiters) for (const w of waiters) w(false, why);
    if (call !== this.#current || !this.host.isOpen()) return;
    this.#current = undefined;
    if (++this.#failures > MAX_FAILURES) {
      log("warn", "MCP.Upstream", `upstream ${this.host.upstream}: subscriptions/listen keeps failing (${why}); list changes and resource updates stop until the next subscribe`, { upstream: this.host.upstream });
      return;
    }
    // A stream the server closed on purpose (shutdown, idle) is reopened; backoff bounds a refusing server.
    this.#retry = setTimeout(() => void this.#reopen().catch(() => {}), Math.min(250 * 2 ** this.#failures, 10_000));
    this.#retry.unref();
  }
}
