/**
 * `subscriptions/listen` (SEP-2575): one long-lived SSE stream per listen
 * request. The acknowledgement (with the filter the gateway honours) comes
 * first; every later notification carries the listen request's id as
 * `_meta` subscriptionId; only what the filter asked for is delivered.
 *
 * Fan-in: list changes of the merged catalog (from every upstream's
 * list_changed) and resource updates (a legacy upstream's
 * `resources/subscribe`, held once per URI by the relay for all callers)
 * land here. Keep-alive comments go out below common proxy idle timeouts.
 */
import type { ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import { META } from "../../protocol/era.js";
import { GatewayError } from "../../errors/index.js";
import type { CallerSink, ModernCaller } from "./caller.js";

/** The SEP-2575 subscription filter. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** Which filter flag each list-changed notification needs. */
const FLAG_OF: Record<string, keyof ListenFilter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

/** Reads the `notifications` filter of a listen request (throws invalid_params). */
export function readFilter(request: JsonRpcRequest): ListenFilter {
  const f = request.params?.notifications;
  if (typeof f !== "object" || f === null || Array.isArray(f)) throw new GatewayError("invalid_params", { detail: "'notifications' is required and must be a SubscriptionFilter" });
  const filter = f as Record<string, unknown>;
  const out: ListenFilter = {};
  for (const k of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"] as const) {
    if (filter[k] !== undefined && typeof filter[k] !== "boolean") throw new GatewayError("invalid_params", { detail: `notifications.${k} must be a boolean` });
    if (filter[k] === true) out[k] = true;
  }
  const subs = filter.resourceSubscriptions;
  if (subs !== undefined) {
    if (!Array.isArray(subs) || subs.some((u) => typeof u !== "string")) throw new GatewayError("invalid_params", { detail: "notifications.resourceSubscriptions must be an array of URIs" });
    if (subs.length > 0) out.resourceSubscriptions = [...new Set(subs as string[])];
  }
  return out;
}

/** The part of `filter` the gateway can honour given its merged capabilities. */
export function honoredFilter(filter: ListenFilter, caps: Record<string, any>): ListenFilter {
  const out: ListenFilter = {};
  if (filter.toolsListChanged && caps.tools?.listChanged) out.toolsListChanged = true;
  if (filter.promptsListChanged && caps.prompts?.listChanged) out.promptsListChanged = true;
  if (filter.resourcesListChanged && caps.resources?.listChanged) out.resourcesListChanged = true;
  if (filter.resourceSubscriptions && caps.resources?.subscribe) out.resourceSubscriptions = filter.resourceSubscriptions;
  return out;
}

/** What a listen stream needs from the gateway. */
export interface ListenDeps {
  dispatch(caller: CallerContext, message: JsonRpcMessage): void;
  serverInfo: { name: string; version: string };
  keepAliveMs(): number;
}

/** All open listen streams of this node. */
export class ListenHub {
  readonly #streams = new Set<ListenStream>();

  constructor(readonly deps: ListenDeps) {}

  /** Open streams (stats, tests). */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens the stream of one listen request and sends the acknowledgement. */
  open(res: ServerResponse, caller: ModernCaller, request: JsonRpcRequest, filter: ListenFilter): void {
    const stream = new ListenStream(this, res, caller, request.id, filter);
    this.#streams.add(stream);
    res.once("close", () => {
      this.#streams.delete(stream);
      stream.close();
    });
    stream.start();
  }

  /** A merged list changed (any upstream's list_changed after the catalog refreshed). */
  listChanged(method: string): void {
    const flag = FLAG_OF[method];
    if (!flag) return;
    for (const s of this.#streams) if (s.filter[flag]) s.notify({ jsonrpc: "2.0", method });
  }
}

class ListenStream implements CallerSink {
  #keepAlive?: NodeJS.Timeout;

  constructor(
    readonly hub: ListenHub,
    readonly res: ServerResponse,
    readonly caller: ModernCaller,
    readonly subscriptionId: JsonRpcId,
    readonly filter: ListenFilter,
  ) {
    caller.sink = this;
  }

  start(): void {
    this.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" });
    this.notify({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: this.filter } });
    if (Object.keys(this.filter).length === 0) {
      // Nothing to deliver: end gracefully with the listen result.
      this.#end();
      return;
    }
    const every = this.hub.deps.keepAliveMs();
    if (every > 0) {
      this.#keepAlive = setInterval(() => this.res.write(": keep-alive\n\n"), every);
      this.#keepAlive.unref();
    }
    // Resource updates: the relay holds one upstream subscription per URI for every caller.
    for (const uri of this.filter.resourceSubscriptions ?? []) {
      this.hub.deps.dispatch(this.caller, { jsonrpc: "2.0", id: `listen-sub-${uri}`, method: "resources/subscribe", params: { uri } });
    }
  }

  /** Writes one notification tagged with the subscription id. */
  notify(n: JsonRpcNotification): boolean {
    if (this.res.writableEnded) return false;
    const params = { ...(n.params ?? {}) };
    params._meta = { ...((params._meta as Record<string, unknown>) ?? {}), [META.subscriptionId]: this.subscriptionId };
    return this.res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", method: n.method, params })}\n\n`);
  }

  onNotification(n: JsonRpcNotification): boolean {
    if (n.method === "notifications/resources/updated") {
      const uri = n.params?.uri;
      if (typeof uri === "string" && this.filter.resourceSubscriptions?.includes(uri)) return this.notify(n);
    }
    return true;
  }

  /** Answers to the stream's own subscribe calls: nothing for the client. */
  onResponse(_response: JsonRpcResponse): void {}

  onServerRequest(request: JsonRpcRequest): void {
    this.hub.deps.dispatch(this.caller, { jsonrpc: "2.0", id: request.id, error: { code: -32601, message: "a listen stream cannot be asked anything" } });
  }

  #end(): void {
    const result = { resultType: "complete", _meta: { [META.subscriptionId]: this.subscriptionId, [META.serverInfo]: this.hub.deps.serverInfo } };
    this.res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: this.subscriptionId, result })}\n\n`);
  }

  close(): void {
    clearInterval(this.#keepAlive);
    if (this.caller.closed) return;
    for (const uri of this.filter.resourceSubscriptions ?? []) {
      this.hub.deps.dispatch(this.caller, { jsonrpc: "2.0", id: `listen-unsub-${uri}`, method: "resources/unsubscribe", params: { uri } });
    }
    this.caller.closed = true;
  }
}
