/**
 * The modern (2026-07-28) wire on /mcp: envelope, method table, and the
 * hand-off to the relay through a per-request ModernCaller. Only this file
 * and its neighbours know the modern era; the relay serves the caller like
 * any other (docs/adr/0140-caller-context-and-eras.md).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { ListenerContext } from "../../listeners/context.js";
import type { ClientIdentity } from "../../listeners/identity.js";
import type { Catalog } from "../../routing/catalog.js";
import { LIST_KINDS } from "../../routing/catalog.js";
import type { ToolFilter } from "../../relay/relay.js";
import type { ConfigStore } from "../../config/store.js";
import { GatewayError, toGatewayError, toJsonRpcError } from "../../errors/index.js";
import { Sealer, keyFromConfig } from "../../protocol/sealed.js";
import { accepts, parseJsonRpcBody, readBody } from "../../listeners/http-util.js";
import { checkMessage } from "../../protocol/validate.js";
import { ModernExchange, sendModernError } from "../../listeners/modern-exchange.js";
import { InputBridge, inputResponsesOf } from "../bridge/mrtr.js";
import type { ModernWire } from "./wire.js";
import { readEnvelope } from "./envelope.js";
import { checkParamHeaders, clientParamHeaders } from "./param-headers.js";
import { ModernCaller } from "./caller.js";
import { discoverResult } from "./discover.js";
import { ListenHub, honoredFilter, readFilter } from "./listen.js";
import { CACHEABLE, hintOf, mergeHints, sortList, stampResult, type CacheHint } from "./results.js";
import { ModernTasks, TASK_METHODS, advertiseTasks } from "./tasks/tasks.js";
import { noteHttpTraceContext } from "../../protocol/trace-context.js";

/** Methods the revision removed: 404 -32601 on this wire (SEP-2575). */
export const REMOVED_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
  "notifications/initialized",
  "notifications/roots/list_changed",
]);

/** Methods the relay serves for modern callers (the upstream may answer input_required on those marked). */
const RELAYED = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "tools/call", "prompts/get", "resources/read", "completion/complete"]);

/** What the modern wire needs from the gateway (narrow, built by the composition root). */
export interface ModernDeps {
  config: ConfigStore;
  context: ListenerContext;
  catalog: Catalog;
  /** The relay: its tool rules (read per request: the auth layer installs them later) and attribution lanes. */
  relay: { readonly toolFilter?: ToolFilter; parkLane(caller: CallerContext, id: JsonRpcId): void; unparkLane(caller: CallerContext, id: JsonRpcId, run: () => void): void };
  version: string;
}

/** Serves the modern wire. */
export class ModernService implements ModernWire {
  readonly sealer: Sealer;
  readonly bridge: InputBridge;
  readonly listen: ListenHub;
  /** The tasks extension: sealed task ids, tasks/* routed by them. */
  readonly tasks: ModernTasks;
  readonly serverInfo: { name: string; version: string };
  readonly #deps: ModernDeps;
  /** Prefix of this gateway's modern caller ids. */
  readonly #callerScope = `m-${randomUUID().slice(0, 8)}-`;

  constructor(deps: ModernDeps) {
    this.#deps = deps;
    const key = deps.config.current.modern.state_key;
    this.sealer = new Sealer(key ? keyFromConfig(key) : undefined);
    this.serverInfo = { name: "mcp-gateway", version: deps.version };
    const dispatch = (caller: CallerContext, message: JsonRpcMessage) => deps.context.dispatch(caller, message);
    const localNode = randomUUID();
    const modern = () => deps.config.current.modern;
    this.tasks = new ModernTasks({
      sealer: this.sealer,
      resolveTool: (name) => deps.catalog.resolveTool(name),
      hasUpstream: (name) => deps.catalog.manager.groups.has(name),
      toolFilter: () => deps.relay.toolFilter,
    });
    this.bridge = new InputBridge({
      dispatch,
      sealer: this.sealer,
      // The cluster's node id (the bus addresses held calls by it), else one that tells this process from others.
      nodeId: () => deps.context.cluster?.nodeId ?? localNode,
      serverInfo: this.serverInfo,
      inputTimeoutMs: () => modern().input_timeout,
      stateTtlMs: () => modern().state_ttl,
      parkLane: (caller, id) => deps.relay.parkLane(caller, id),
      unparkLane: (caller, id, run) => deps.relay.unparkLane(caller, id, run),
      hintFor: (method, result, caller, retried) => this.#hintFor(method, result, caller, retried),
      upstreamEra: (upstream) => this.#eraOf(upstream),
      finishResult: (method, upstream, result, caller) => {
        if (method.endsWith("/list")) sortList(result);
        return this.tasks.finish(method, upstream, caller, result);
      },
    });
    this.listen = new ListenHub({ dispatch, serverInfo: this.serverInfo, keepAliveMs: () => modern().keepalive_interval });
    // Listen streams hear every merged-list change, beside the relay's legacy broadcast.
    deps.catalog.onListChanged((kind) => {
      if (kind !== "templates") this.listen.listChanged(LIST_KINDS[kind].notification);
    });
  }

  ownsCaller(callerId: string): boolean {
    return callerId.startsWith(this.#callerScope);
  }

  async serve(req: IncomingMessage, res: ServerResponse, preread?: string): Promise<void> {
    if (req.method !== "POST") return sendModernError(res, new GatewayError("method_not_allowed", { method: req.method }), null);
    const contentType = req.headers["content-type"];
    if (!contentType || !contentType.includes("application/json")) {
      return sendModernError(res, new GatewayError("unsupported_media_type", { detail: "Content-Type must be application/json" }), null);
    }
    if (!accepts(req, "application/json") && !accepts(req, "text/event-stream")) {
      return sendModernError(res, new GatewayError("not_acceptable", { detail: "Accept must include application/json and text/event-stream" }), null);
    }
    let message: JsonRpcMessage;
    let body: string;
    try {
      body = preread ?? (await readBody(req, this.#deps.config.current.server.body_limit));
      message = parseJsonRpcBody(body);
    } catch (err) {
      return sendModernError(res, toGatewayError(err), null);
    }
    // The same edge check as the legacy wire: envelope, id and nesting depth.
    const check = checkMessage(message, this.#deps.config.current.server.max_json_depth);
    if (!check.ok) return sendModernError(res, check.error, check.id);
    const m = message as Partial<JsonRpcRequest>;
    if (typeof m !== "object" || m === null || Array.isArray(m) || m.jsonrpc !== "2.0") {
      return sendModernError(res, new GatewayError("invalid_request", { detail: "not a JSON-RPC 2.0 message" }), null);
    }
    const id: JsonRpcId | null = typeof m.id === "string" || typeof m.id === "number" ? m.id : null;
    if (m.method === undefined) {
      return sendModernError(res, new GatewayError("invalid_request", { detail: "the 2026-07-28 wire carries no client responses (MRTR replaces server->client requests)" }), id);
    }
    if (typeof m.method !== "string") return sendModernError(res, new GatewayError("invalid_request", { detail: "method must be a string" }), id);
    if (m.id === undefined) {
      // Notifications (e.g. cancelled) need no answer here: closing a request's stream cancels it.
      res.writeHead(202);
      res.end();
      return;
    }
    if (id === null) return sendModernError(res, new GatewayError("invalid_request", { detail: "id must be a string or number" }), null);
    let identity: ClientIdentity;
    try {
      identity = await this.#deps.context.authenticate(req);
    } catch (err) {
      const e = toGatewayError(err);
      // Telemetry hears of a parsed request refused before any caller took it (a SERVER span, src/telemetry/otel/).
      noteHttpTraceContext(req, m);
      this.#deps.context.onRefused?.(req, { transport: "streamable_http", message: m, answer: toJsonRpcError(e, id) });
      return this.#deps.context.refuse(res, e);
    }
    try {
      await this.#route(req, res, m as JsonRpcRequest, identity, body);
    } catch (err) {
      if (res.headersSent) return void res.end();
      const e = toGatewayError(err);
      // Refused by the edge checks of #route (unknown method, envelope, Mcp-Param-* headers), before the relay heard of it.
      this.#deps.context.onRefused?.(req, { transport: "streamable_http", message: m, answer: toJsonRpcError(e, id), clientId: identity.clientId });
      sendModernError(res, e, id);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse, request: JsonRpcRequest, identity: ClientIdentity, body: string): Promise<void> {
    noteHttpTraceContext(req, request);
    const method = request.method;
    if (REMOVED_METHODS.has(method) || !(RELAYED.has(method) || TASK_METHODS.has(method) || method === "server/discover" || method === "subscriptions/listen")) {
      throw new GatewayError("method_not_found", { method });
    }
    const envelope = readEnvelope(request, req.headers);
    const params = clientParamHeaders(req.headers);
    // SEP-2243: arguments the tool mirrors into Mcp-Param-* headers must agree with the body (-32020).
    if (method === "tools/call" && typeof request.params?.name === "string") {
      checkParamHeaders(this.#deps.catalog.resolveTool(request.params.name)?.definition, request.params.arguments, params);
    }
    const caller = new ModernCaller(identity, envelope, params, this.#callerScope);
    if (method === "server/discover") {
      const hint: CacheHint = { ttlMs: this.#deps.config.current.modern.cache_ttl, cacheScope: "public" };
      const discovered = discoverResult(this.#deps.catalog);
      advertiseTasks(discovered, [...this.#deps.catalog.manager.groups.values()].map((g) => g.anyConnection()?.identity?.capabilities));
      const result = stampResult(method, discovered, this.serverInfo, hint);
      const json = JSON.stringify({ jsonrpc: "2.0", id: request.id, result });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    if (method === "subscriptions/listen") {
      const filter = honoredFilter(readFilter(request), this.#deps.catalog.capabilities());
      return this.listen.open(res, caller, request, filter);
    }
    if (TASK_METHODS.has(method)) {
      // Task input goes to the upstream's own task (tasks/update), not through the MRTR bridge: forwarded as it came.
      const forwarded: JsonRpcRequest = { jsonrpc: "2.0", id: request.id, method, params: { ...request.params } };
      const upstream = this.tasks.route(caller, forwarded);
      return this.bridge.start(caller, new ModernExchange(res, request.id), forwarded, upstream, {}, false);
    }
    const answers = inputResponsesOf(request);
    const token = request.params?.requestState;
    const upstreamBound = withoutRetryParams(request);
    if (method === "tools/call") this.tasks.noteToolCall(caller, upstreamBound);
    const owner = this.#ownerOf(upstreamBound);
    if (token === undefined) {
      // A modern upstream reads a first call's inputResponses itself; a legacy one's questions are answered from them.
      if (request.params?.inputResponses !== undefined && this.#eraOf(owner) === "modern") {
        upstreamBound.params = { ...upstreamBound.params, inputResponses: answers };
        return this.bridge.start(caller, new ModernExchange(res, request.id), upstreamBound, owner, {}, false);
      }
      return this.bridge.start(caller, new ModernExchange(res, request.id), upstreamBound, owner, answers, false);
    }
    const state = this.bridge.openState(token, request, identity);
    if (state.way === "through") {
      // Stateless: the upstream's own state comes out of the seal; any node sends the round on.
      if (state.upstream !== owner) throw new GatewayError("sealed_state_invalid", { purpose: "request_state", reason: `it names upstream ${state.upstream}, which no longer serves this request` });
      upstreamBound.params = { ...upstreamBound.params, inputResponses: answers, ...(state.inner !== undefined ? { requestState: state.inner } : {}) };
      return this.bridge.start(caller, new ModernExchange(res, request.id), upstreamBound, owner, {}, true);
    }
    const here = this.bridge.deps.nodeId();
    if (state.node === here) return this.bridge.resume(state, new ModernExchange(res, request.id), answers);
    // Held on another node: the whole request goes there over the cluster bus, never re-run here.
    const cluster = this.#deps.context.cluster;
    if (!cluster || cluster.forwarded(req)) throw new GatewayError("input_call_gone", { reason: "it was held by another gateway process" });
    const sent = await cluster.forwardTo(state.node!, req, res, body);
    if (sent === "gone") throw new GatewayError("input_call_gone", { reason: `node ${state.node} that held it went away` });
    if (sent === "unreachable") throw new GatewayError("cluster_node_lost", { node: state.node! });
  }

  #eraOf(upstream: string): "legacy" | "modern" | undefined {
    return upstream === "" ? undefined : this.#deps.catalog.manager.groups.get(upstream)?.anyConnection()?.era;
  }

  /** The upstream a request routes to (named in sealed state); "" when the gateway answers it itself. */
  #ownerOf(request: JsonRpcRequest): string {
    const p = request.params ?? {};
    const catalog = this.#deps.catalog;
    if (request.method === "tools/call" && typeof p.name === "string") return catalog.resolveTool(p.name)?.upstream ?? "";
    if (request.method === "prompts/get" && typeof p.name === "string") return catalog.resolvePrompt(p.name)?.upstream ?? "";
    if (request.method === "resources/read" && typeof p.uri === "string") return catalog.resolveResource(p.uri) ?? "";
    return "";
  }

  #hintFor(method: string, result: Record<string, unknown>, caller: CallerContext, retried: boolean): CacheHint | undefined {
    if (!CACHEABLE.has(method)) return undefined;
    // SEP-2549: results of MRTR retries are never cached.
    if (retried) return { ttlMs: 0, cacheScope: "private" };
    const own = hintOf(result);
    if (own) return own;
    const fallback: CacheHint = { ttlMs: this.#deps.config.current.modern.cache_ttl, cacheScope: "public" };
    // A merged list: the shortest ttl of its contributors, private if any is (modern upstreams give
    // their own hints; legacy ones get modern.cache_ttl).
    const hints: CacheHint[] = [];
    if (method.endsWith("/list")) {
      for (const group of this.#deps.catalog.manager.groups.values()) {
        const c = group.anyConnection();
        if (c) hints.push(c.cacheHint(method) ?? fallback);
      }
    }
    const hint = mergeHints(hints, fallback);
    // A list filtered for this caller (tool rules) must not be shared with another.
    const filter = this.#deps.relay.toolFilter;
    if (method === "tools/list" && filter && this.#deps.catalog.list("tools").some((t) => !filter(caller, t.name as string))) hint.cacheScope = "private";
    return hint;
  }
}

/**
 * The request as the upstream gets it: without the retry channel (the bridge
 * answers the upstream's questions itself); `_meta` goes on as it came, so
 * trace context (traceparent, tracestate, baggage) and the client's declared
 * capabilities reach the upstream.
 */
function withoutRetryParams(request: JsonRpcRequest): JsonRpcRequest {
  const { inputResponses: _a, requestState: _b, ...params } = request.params ?? {};
  return { jsonrpc: "2.0", id: request.id, method: request.method, params };
}

/** Builds the modern wire from the gateway's parts. */
export function createModernService(deps: ModernDeps): ModernService {
  return new ModernService(deps);
}
