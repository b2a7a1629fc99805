import type { JsonRpcId, JsonRpcMessage, JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../protocol/jsonrpc.js";
import { JSONRPC_INVALID_REQUEST, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/jsonrpc.js";
import type { MessageExtra } from "../protocol/transport.js";
import { GatewayError, toGatewayError, toJsonRpcError } from "../errors/index.js";
// The relay works on callers (a legacy Session, or one modern request): docs/adr/0140-caller-context-and-eras.md.
import type { CallerContext as Session } from "../protocol/caller-context.js";
import type { SessionRegistry } from "../session/registry.js";
import type { CallSink, PendingCall, UpstreamConnection } from "../upstream/connection.js";
import type { UpstreamManager } from "../upstream/manager.js";
import type { Catalog, ListKind } from "../routing/catalog.js";
import { LIST_KINDS } from "../routing/catalog.js";
import type { ConfigStore } from "../config/store.js";
import { channels, log } from "../telemetry/channels.js";
import { attributeServerRequest } from "./server-requests.js";
import { AttributionLanes, needsLane } from "./attribution-lane.js";
import { ClientUpstreamSessions, type SessionOwner } from "../upstream/client-sessions.js";
import { Coalescer } from "./coalesce.js";
import { isValidRequestId } from "../protocol/validate.js";
import { taskRoutes } from "../protocol/task-route.js";
import type { RelayTracer } from "../telemetry/otel/hook.js";

/** Repeated roots/list_changed within this window reach the upstreams once more at its end, not once each (ms). */
const ROOTS_FANOUT_INTERVAL_MS = 250;

/** Severity order of MCP log levels (RFC 5424 names). */
const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** Which upstream tool an exposed name leads to. */
export interface ToolTarget {
  upstream: string;
  name: string;
}

/**
 * Hook to hide tools a client may not call (filled by the auth layer).
 * `target`: the upstream and its own tool name, which rules bind to (the
 * exposed name changes when prefixing renames a tool).
 */
export type ToolFilter = (session: Session, exposedName: string, target?: ToolTarget) => boolean;

/**
 * The relay: takes one well-formed client message for a session and routes
 * it (answer locally, forward to the owning upstream, or map a reply back);
 * and routes upstream traffic back to the one client it belongs to.
 */
export class Relay implements CallSink {
  readonly #subscribers = new Map<string, Set<Session>>();
  readonly #lanes = new AttributionLanes();
  /** Every upstream replica hears about changed roots, but a flood of changes costs them one notification per interval. */
  readonly #rootsChanged = new Coalescer(() => {
    for (const r of this.manager.replicas()) r.connection?.notify({ jsonrpc: "2.0", method: "notifications/roots/list_changed" });
  }, ROOTS_FANOUT_INTERVAL_MS);
  /** Optional per-client tool visibility (auth rules). */
  toolFilter?: ToolFilter;
  /** Why an unknown name is unknown: the integrity layer's error for a definition it withholds (src/integrity/). */
  withheld?: (kind: "tools" | "prompts", exposedName: string) => GatewayError | undefined;
  /** The integrity layer's error for a URI that only a withheld resource template would serve (src/integrity/). */
  withheldResource?: (uri: string) => GatewayError | undefined;
  readonly version: string;
  /**
   * OpenTelemetry (src/telemetry/otel/): undefined when off, and then this one check is all it costs.
   * Told of each message where the gateway's chain begins (Gateway#dispatch), so refusals by
   * middleware (rate limit, open breaker, shutting down) end a SERVER span like the relay's answers.
   */
  tracer?: RelayTracer;
  /** Upstream sessions of `session_mode: per_client` upstreams, one per client session. */
  readonly clientSessions: ClientUpstreamSessions;

  constructor(
    readonly manager: UpstreamManager,
    readonly catalog: Catalog,
    readonly registry: SessionRegistry,
    readonly config: ConfigStore,
    version = "0.1.0",
  ) {
    this.version = version;
    for (const replica of manager.replicas()) replica.onServerMessage = (m, e, c) => this.#onServerMessage(m, e, c);
    this.clientSessions = new ClientUpstreamSessions(manager.factory, { name: "mcp-gateway", version });
    this.clientSessions.onServerMessage = (m, e, c, owner) => this.#onServerMessage(m, e, c, owner as Session);
    this.clientSessions.idleTimeoutOf = (upstream) => this.manager.groups.get(upstream)?.config.per_client.idle_timeout ?? 300_000;
    catalog.onListChanged((kind) => this.#broadcastListChanged(kind));
    registry.onEnd((s) => this.#onSessionEnd(s));
  }

  /**
   * Handles one parsed client message. Never throws: every failure becomes a
   * JSON-RPC error to that client.
   */
  handle(session: Session, message: JsonRpcMessage): void {
    session.lastActivity = Date.now();
    session.messagesIn++;
    const m = message as JsonRpcRequest;
    if (typeof m !== "object" || m === null || m.jsonrpc !== "2.0") {
      return this.#reject(session, (m as JsonRpcRequest)?.id ?? null, new GatewayError("invalid_request", { detail: "not a JSON-RPC 2.0 message" }));
    }
    if (m.method !== undefined) {
      if (typeof m.method !== "string") return this.#reject(session, m.id ?? null, new GatewayError("invalid_request", { detail: "method must be a string" }));
      if (m.id === undefined) return this.#onNotification(session, message as JsonRpcNotification);
      if (!isValidRequestId(m.id)) return this.#reject(session, null, new GatewayError("invalid_request", { detail: "id must be a string or an integer" }));
      // Two calls with one id in flight: the client could not tell their answers apart (ids are compared by JSON type and value).
      if (session.inflight?.has(m.id)) return this.#reject(session, m.id, new GatewayError("duplicate_request_id", { id: JSON.stringify(m.id) }));
      try {
        this.#onRequest(session, m);
      } catch (err) {
        this.#reject(session, m.id, toGatewayError(err));
      }
      return;
    }
    if (m.id !== undefined && ("result" in m || "error" in m)) return this.#onClientResponse(session, message as JsonRpcResponse);
    this.#reject(session, m.id ?? null, new GatewayError("invalid_request", { detail: "neither a request, a notification nor a response" }));
  }

  /** URIs of `upstream` at least one client is subscribed to (the resilience layer keeps them subscribed upstream). */
  subscribedUris(upstream: string): string[] {
    const prefix = `${upstream}\u0000`;
    const out: string[] = [];
    for (const [key, set] of this.#subscribers) if (set.size > 0 && key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }

  /** Answers a request with a catalogue error (also used by middleware). */
  reject(session: Session, id: JsonRpcId | null, err: GatewayError): void {
    this.#reject(session, id, err);
  }

  #reject(session: Session, id: JsonRpcId | null, err: GatewayError): void {
    if (channels.error.hasSubscribers) channels.error.publish({ type: "request", code: err.code, message: err.message, clientId: session.clientId, transport: session.transport });
    const answer = toJsonRpcError(err, id);
    this.tracer?.answered(session, id, answer);
    session.send(answer, id ?? undefined);
  }

  #reply(session: Session, id: JsonRpcId, result: Record<string, unknown>): void {
    const answer: JsonRpcResponse = { jsonrpc: "2.0", id, result };
    this.tracer?.answered(session, id, answer);
    session.send(answer, id);
  }

  #onRequest(session: Session, request: JsonRpcRequest): void {
    const method = request.method;
    if (method === "initialize") return this.#initialize(session, request);
    if (method === "ping") return this.#reply(session, request.id, {});
    switch (method) {
      case "tools/list":
        return this.#list(session, request, "tools");
      case "prompts/list":
        return this.#list(session, request, "prompts");
      case "resources/list":
        return this.#list(session, request, "resources");
      case "resources/templates/list":
        return this.#list(session, request, "templates");
      case "tools/call": {
        const name = request.params?.name;
        const target = typeof name === "string" ? this.catalog.resolveTool(name) : undefined;
        const denied = this.toolFilter !== undefined && !this.toolFilter(session, name as string, target);
        if (!target || denied) {
          // A withheld tool is named as such only to clients its rules let see it (ADR 0042, ADR 0170).
          throw (!target && !denied && this.withheld?.("tools", String(name))) || new GatewayError("tool_not_found", { tool: String(name) });
        }
        request.params!.name = target.name;
        // The gateway offers no 2025-11-25 tasks (no tasks/get route back): a `task` hint is dropped, the call runs
        // synchronously (docs/protocol-2026.md, Tasks); on the modern wire SEP-2663 says to ignore it anyway.
        if ("task" in request.params!) delete request.params!.task;
        return this.#forward(session, request, target.upstream, this.#timeoutFor(target.upstream, target.name));
      }
      case "prompts/get": {
        const name = request.params?.name;
        const target = typeof name === "string" ? this.catalog.resolvePrompt(name) : undefined;
        if (!target) throw this.withheld?.("prompts", String(name)) || new GatewayError("prompt_not_found", { prompt: String(name) });
        request.params!.name = target.name;
        return this.#forward(session, request, target.upstream);
      }
      case "resources/read":
        return this.#forward(session, request, this.#resourceOwner(request.params?.uri));
      case "resources/subscribe":
        return this.#subscribe(session, request, true);
      case "resources/unsubscribe":
        return this.#subscribe(session, request, false);
      case "completion/complete":
        return this.#complete(session, request);
      case "logging/setLevel":
        return this.#setLevel(session, request);
      case "tasks/get":
      case "tasks/update":
      case "tasks/cancel": {
        // Routed by the sealed task id the modern wire opened (src/eras/modern/tasks/); nothing else has a route.
        const upstream = taskRoutes.get(request);
        if (upstream === undefined) throw new GatewayError("method_not_found", { method });
        return this.#forward(session, request, upstream);
      }
      default:
        throw new GatewayError("method_not_found", { method });
    }
  }

  #initialize(session: Session, request: JsonRpcRequest): void {
    const params = request.params ?? {};
    const requested = params.protocolVersion as string;
    session.protocolVersion = (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
    session.clientCapabilities = (params.capabilities as Record<string, unknown>) ?? {};
    session.clientInfo = params.clientInfo as Session["clientInfo"];
    const result: Record<string, unknown> = {
      protocolVersion: session.protocolVersion,
      capabilities: this.catalog.capabilities(),
      serverInfo: { name: "mcp-gateway", version: this.version },
    };
    const instructions = this.catalog.instructions();
    if (instructions) result.instructions = instructions;
    // A streaming sink records the result for resume; notifications/initialized will show the client has it.
    if (session.noteInitializeReply) session.noteInitializeReply(() => this.#reply(session, request.id, result));
    else this.#reply(session, request.id, result);
  }

  #list(session: Session, request: JsonRpcRequest, kind: ListKind): void {
    // Partial lists are the default (one upstream down should not hide the others' tools); fail_closed refuses them.
    if (this.config.current.routing.fail_closed) {
      for (const group of this.manager.groups.values()) {
        if (group.ready().length === 0) throw new GatewayError("upstream_unavailable", { upstream: group.name, reason: "no replica is ready (routing.fail_closed)" });
      }
    }
    let items = this.catalog.list(kind);
    if (kind === "tools" && this.toolFilter) items = items.filter((t) => this.toolFilter!(session, t.name as string, this.catalog.resolveTool(t.name as string)));
    this.#reply(session, request.id, { [LIST_KINDS[kind].key]: items });
  }

  #resourceOwner(uri: unknown): string {
    // A withheld template must not stay reachable through the single-owner fallback of resolveResource.
    const withheld = typeof uri === "string" && !this.catalog.isListedResource(uri) ? this.withheldResource?.(uri) : undefined;
    if (withheld) throw withheld;
    const owner = typeof uri === "string" ? this.catalog.resolveResource(uri) : undefined;
    if (!owner) throw new GatewayError("resource_not_found", { uri: String(uri) });
    return owner;
  }

  #complete(session: Session, request: JsonRpcRequest): void {
    const ref = request.params?.ref as { type?: string; name?: string; uri?: string } | undefined;
    if (ref?.type === "ref/prompt") {
      const target = ref.name ? this.catalog.resolvePrompt(ref.name) : undefined;
      if (!target) throw new GatewayError("prompt_not_found", { prompt: String(ref.name) });
      ref.name = target.name;
      return this.#forward(session, request, target.upstream);
    }
    if (ref?.type === "ref/resource") return this.#forward(session, request, this.#resourceOwner(ref.uri));
    throw new GatewayError("invalid_params", { detail: "completion/complete needs ref/prompt or ref/resource" });
  }

  #subscribe(session: Session, request: JsonRpcRequest, on: boolean): void {
    const uri = request.params?.uri;
    const owner = this.#resourceOwner(uri);
    const key = `${owner}\u0000${uri}`;
    let set = this.#subscribers.get(key);
    if (on) {
      (session.subscriptions ??= new Set()).add(key);
      if (!set) this.#subscribers.set(key, (set = new Set()));
      const first = set.size === 0;
      set.add(session);
      // One upstream subscription serves every client subscribed to the URI; a per_client session subscribes for itself.
      if (first || this.#perClient(owner, session)) return this.#forward(session, request, owner);
    } else {
      session.subscriptions?.delete(key);
      if (set) {
        set.delete(session);
        if (set.size === 0) this.#subscribers.delete(key);
        if (set.size === 0 || this.#perClient(owner, session)) return this.#forward(session, request, owner);
      }
    }
    this.#reply(session, request.id, {});
  }

  #setLevel(session: Session, request: JsonRpcRequest): void {
    const level = request.params?.level;
    if (typeof level !== "string" || !LOG_LEVELS.includes(level)) throw new GatewayError("invalid_params", { detail: `unknown log level ${String(level)}` });
    session.logLevel = level;
    // Upstreams get the most verbose level any client wants; each client is filtered to its own.
    let min = level;
    for (const s of this.registry.all()) if (s.logLevel && LOG_LEVELS.indexOf(s.logLevel) < LOG_LEVELS.indexOf(min)) min = s.logLevel;
    for (const group of this.manager.groups.values()) {
      for (const r of group.replicas) {
        const c = r.connection;
        if (c?.identity?.capabilities.logging) c.request("logging/setLevel", { level: min }).catch(() => {});
      }
    }
    // A client's own upstream sessions get its own level.
    for (const c of this.clientSessions.connectionsOf(session)) if (c.identity?.capabilities.logging) c.request("logging/setLevel", { level }).catch(() => {});
    this.#reply(session, request.id, {});
  }

  #timeoutFor(upstream: string, tool?: string): number {
    const group = this.manager.groups.get(upstream);
    if (tool && group?.config.tool_timeouts[tool] !== undefined) return group.config.tool_timeouts[tool]!;
    return group?.config.request_timeout ?? this.config.current.routing.request_timeout;
  }

  /**
   * The call goes on the caller's own upstream session. Legacy sessions only: a modern caller is one
   * request (no session to own an upstream session), so it takes the shared path.
   */
  #perClient(upstream: string, caller: Session): boolean {
    return caller.era === "legacy" && this.manager.groups.get(upstream)?.config.session_mode === "per_client";
  }

  #forward(session: Session, request: JsonRpcRequest, upstream: string, timeoutMs = this.#timeoutFor(upstream)): void {
    if (this.#perClient(upstream, session)) return this.#forwardOwn(session, request, upstream, timeoutMs);
    const connection = this.manager.tryConnectionFor(upstream, session.clientId);
    const call = this.#pendingCall(session, request, timeoutMs);
    if (connection === undefined) return this.#awaitReplica(session, request, upstream, call);
    this.#route(session, request, call, connection);
  }

  /** The call record of a forwarded request, registered in the session's in-flight map. */
  #pendingCall(session: Session, request: JsonRpcRequest, timeoutMs: number): PendingCall {
    const now = Date.now();
    const call: PendingCall = { upstreamId: 0, originalId: request.id, method: request.method, sink: this, startedAt: now, deadline: now + timeoutMs, owner: session, trace: this.tracer?.forwarding(session, request.id) };
    (session.inflight ??= new Map()).set(request.id, call);
    return call;
  }

  /**
   * `session_mode: per_client`: the call goes on the client's own upstream
   * session (opened on first use). No lease pool, breaker or lane: the session
   * serves this one client, so everything on it is attributed to it.
   */
  #forwardOwn(session: Session, request: JsonRpcRequest, upstream: string, timeoutMs: number): void {
    const call = this.#pendingCall(session, request, timeoutMs);
    const waiting = () => !session.closed && session.inflight?.get(call.originalId) === call;
    const fail = (err: unknown) => {
      session.inflight?.delete(call.originalId);
      this.#reject(session, call.originalId, toGatewayError(err));
      this.onCallSettled?.();
    };
    this.clientSessions.connectionFor(this.manager.groups.get(upstream)!, session).then(
      (connection) => {
        if (!waiting()) return;
        try {
          connection.forward(request, call);
        } catch (err) {
          fail(err);
        }
      },
      (err) => waiting() && fail(err),
    );
  }

  /**
   * Slow path: no replica is ready but one is (re)starting (a respawning
   * stdio child). The call waits for it, bounded by pool.checkout_timeout and
   * its own deadline, instead of failing at once; waiters go out in arrival
   * order, ahead of calls that arrive later.
   */
  #awaitReplica(session: Session, request: JsonRpcRequest, upstream: string, call: PendingCall): void {
    const maxWait = Math.max(0, Math.min(this.config.current.pool.checkout_timeout, call.deadline - Date.now()));
    this.manager.whenReady(upstream, maxWait, (ready) => {
      // Cancelled, or the session ended, while waiting: nothing to send.
      if (session.closed || session.inflight?.get(call.originalId) !== call) return;
      let connection: UpstreamConnection | undefined;
      try {
        // Nothing came within the wait: say so (the breaker may have opened meanwhile; later calls see circuit_open).
        connection = ready ? this.manager.tryConnectionFor(upstream, session.clientId) : undefined;
        if (connection === undefined) throw new GatewayError("upstream_unavailable", { upstream, reason: `no replica became ready within ${maxWait} ms` });
      } catch (err) {
        session.inflight.delete(call.originalId);
        this.#reject(session, call.originalId, toGatewayError(err));
        this.onCallSettled?.();
        return;
      }
      this.#route(session, request, call, connection);
    });
  }

  #route(session: Session, request: JsonRpcRequest, call: PendingCall, connection: UpstreamConnection): void {
    if (this.config.current.trace_routing) log("debug", "MCP.Routing", `${request.method} -> ${connection.replica}`, { clientId: session.clientId });
    if (needsLane(session, request.method, connection)) {
      call.lane = true;
      this.#lanes.enter(connection, session, () => this.#send(session, request, call, connection));
      return;
    }
    this.#send(session, request, call, connection);
  }

  #send(session: Session, request: JsonRpcRequest, call: PendingCall, connection: UpstreamConnection): void {
    try {
      // Through the resilience layer (pool lease, breaker outcome, safe retries) when installed.
      this.manager.send(connection, request, call);
    } catch (err) {
      // forward() may already have rewritten request.id to the upstream's id: use the caller's.
      session.inflight?.delete(call.originalId);
      if (call.lane) this.#lanes.leave(connection);
      this.#reject(session, call.originalId, toGatewayError(err));
    }
  }

  /** CallSink: an upstream answered a forwarded request. */
  onUpstreamResponse(response: JsonRpcResponse, call: PendingCall): void {
    const session = call.owner as Session;
    session.inflight?.delete(call.originalId);
    if (call.lane && call.connection) this.#lanes.leave(call.connection);
    if (channels.call.hasSubscribers) {
      channels.call.publish({ method: call.method, upstream: call.connection?.upstream ?? "", replica: call.connection?.replica, clientId: session.clientId, sessionId: session.id, durationMs: Date.now() - call.startedAt, ok: !("error" in response) });
    }
    this.tracer?.answered(session, call.originalId, response);
    if (!session.closed) session.send(response, call.originalId);
    // Graceful shutdown waits on this (after the reply went out) instead of polling.
    this.onCallSettled?.();
  }

  /** Called after every client call settles (answered, timed out or cancelled); set while draining. */
  onCallSettled?: () => void;

  /**
   * MRTR bridge (src/eras/bridge/mrtr.ts): a modern call waiting for its
   * client's retry cannot ask anything meanwhile (its upstream awaits our
   * answer), so it gives its attribution lane to other callers...
   */
  parkLane(caller: Session, requestId: JsonRpcId): void {
    const call = caller.inflight?.get(requestId);
    if (!call?.lane || !call.connection) return;
    call.lane = false;
    this.#parked.add(call);
    this.#lanes.leave(call.connection);
  }

  /** ...and takes it back before the answers go upstream (they may lead to the next question). */
  unparkLane(caller: Session, requestId: JsonRpcId, run: () => void): void {
    const call = caller.inflight?.get(requestId);
    if (!call || !call.connection || !this.#parked.delete(call)) return run();
    call.lane = true;
    this.#lanes.enter(call.connection, caller, run);
  }

  readonly #parked = new WeakSet<PendingCall>();

  #onNotification(session: Session, n: JsonRpcNotification): void {
    switch (n.method) {
      case "notifications/initialized":
        session.initialized = true;
        session.releaseInitializeReply?.();
        return;
      case "notifications/cancelled": {
        const requestId = n.params?.requestId as JsonRpcId;
        const call = session.inflight?.get(requestId);
        if (call !== undefined && call.connection === undefined && !call.lane) {
          // Still waiting for a replica (#awaitReplica): it is dropped when the wait ends.
          session.inflight!.delete(requestId);
          this.onCallSettled?.();
          return;
        }
        if (!call?.connection) return;
        session.inflight!.delete(requestId);
        this.onCallSettled?.();
        call.connection.abandon(call);
        if (call.lane) this.#lanes.leave(call.connection);
        call.connection.notify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { ...n.params, requestId: call.upstreamId } });
        return;
      }
      case "notifications/gateway/ack": {
        // The gateway's own acknowledgement: the client processed everything up to seq.
        const seq = Number(n.params?.seq);
        if (Number.isInteger(seq)) session.ack(seq);
        return;
      }
      case "notifications/roots/list_changed":
        // The client's own upstream sessions (per_client) hear it at once; shared ones get a coalesced hint
        // (they answer roots per call: docs/adr/0120-roots-and-upstream-session-modes.md).
        for (const c of this.clientSessions.connectionsOf(session)) c.notify(n);
        this.#rootsChanged.request();
        return;
      case "notifications/progress": {
        // Progress on a server->client request the client is answering.
        const token = n.params?.progressToken as JsonRpcId;
        const fwd = session.serverRequests?.get(token);
        fwd?.connection.notify(n);
        return;
      }
      default:
        return; // unknown notifications are ignored, as JSON-RPC allows
    }
  }

  #onClientResponse(session: Session, response: JsonRpcResponse): void {
    const fwd = session.serverRequests?.get(response.id as JsonRpcId);
    if (!fwd) return; // an answer to nothing we asked: ignore
    session.serverRequests!.delete(response.id as JsonRpcId);
    response.id = fwd.upstreamId;
    fwd.connection.respond(response);
  }

  /** Upstream->client traffic; `owner` is set for a per_client session (all of it belongs to that client). */
  #onServerMessage(message: JsonRpcRequest | JsonRpcNotification, extra: MessageExtra | undefined, connection: UpstreamConnection, owner?: Session): void {
    const id = (message as JsonRpcRequest).id;
    if (id !== undefined) return this.#onServerRequest(message as JsonRpcRequest, extra, connection, owner);
    const params = message.params ?? {};
    switch (message.method) {
      case "notifications/progress": {
        const call = connection.findProgress(params.progressToken as string);
        if (!call) return;
        params.progressToken = call.progressToken;
        (call.owner as Session).send(message, call.originalId);
        return;
      }
      case "notifications/message": {
        const related = extra?.relatedRequestId !== undefined ? connection.findCall(extra.relatedRequestId) : undefined;
        const level = LOG_LEVELS.indexOf(String(params.level));
        // A client's call: that client alone. The gateway's own requests (tools/list while merging) have no
        // owner: their logs go to every client that asked for logs, like unrelated ones.
        // A client that set logging/setLevel gets nothing below it, from its own calls too (one that never set it gets them all).
        const wants = (s: Session) => !s.closed && (s.logLevel === undefined || level >= LOG_LEVELS.indexOf(s.logLevel));
        if (related?.owner) {
          const caller = related.owner as Session;
          if (wants(caller)) caller.send(message, related.originalId);
          return;
        }
        if (owner) return void (wants(owner) && owner.send(message));
        for (const s of this.registry.all()) {
          if (s.initialized && s.logLevel && level >= LOG_LEVELS.indexOf(s.logLevel)) s.send({ ...message });
        }
        return;
      }
      case "notifications/resources/updated": {
        if (owner) return void (!owner.closed && owner.send(message));
        const set = this.#subscribers.get(`${connection.upstream}\u0000${params.uri}`);
        if (set) for (const s of set) s.send({ ...message });
        return;
      }
      case "notifications/cancelled": {
        for (const s of this.registry.all()) {
          if (!s.serverRequests) continue;
          for (const [downId, fwd] of s.serverRequests) {
            if (fwd.connection === connection && fwd.upstreamId === params.requestId) {
              s.serverRequests.delete(downId);
              s.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { ...params, requestId: downId } });
              return;
            }
          }
        }
        return;
      }
      default: {
        for (const kind of Object.keys(LIST_KINDS) as ListKind[]) {
          if (LIST_KINDS[kind].notification === message.method) {
            const group = this.manager.groups.get(connection.upstream);
            if (group) void this.catalog.refresh(group, kind === "resources" || kind === "templates" ? ["resources", "templates"] : [kind]);
            return;
          }
        }
        log("debug", "MCP.Gateway", `unrouted upstream notification ${message.method} from ${connection.upstream}`);
      }
    }
  }

  #onServerRequest(request: JsonRpcRequest, extra: MessageExtra | undefined, connection: UpstreamConnection, owner?: SessionOwner): void {
    if (request.method === "ping") return connection.respond({ jsonrpc: "2.0", id: request.id, result: {} });
    const target = attributeServerRequest(request, extra, connection, owner as Session | undefined);
    if (!target) {
      // A shared session asking outside any client's call: there is no one client whose roots (or model) it could mean.
      const why =
        request.method === "roots/list" && !owner
          ? "roots/list outside a client's call: this upstream session is shared by several clients (session_mode: shared); roots are answered during calls, or use session_mode: per_client"
          : `no connected client can answer ${request.method}`;
      return connection.respond({ jsonrpc: "2.0", id: request.id, error: { code: JSONRPC_INVALID_REQUEST, message: why } });
    }
    const { session, call } = target;
    const downId = session.nextServerRequestId();
    (session.serverRequests ??= new Map()).set(downId, { connection, upstreamId: request.id });
    request.id = downId;
    session.send(request, call?.originalId);
  }

  #broadcastListChanged(kind: ListKind): void {
    const method = LIST_KINDS[kind].notification;
    if (kind === "templates") return; // resources/list_changed covers both
    for (const s of this.registry.all()) if (s.initialized) s.send({ jsonrpc: "2.0", method });
  }

  #onSessionEnd(session: Session): void {
    this.clientSessions.closeOwner(session.id);
    // Calls still running upstream for this client are cancelled: nobody will read the answer.
    if (session.inflight) {
      for (const call of session.inflight.values()) {
        call.connection?.abandon(call);
        if (call.lane && call.connection) this.#lanes.leave(call.connection);
        call.connection?.notify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: call.upstreamId, reason: "client session ended" } });
      }
      session.inflight.clear();
    }
    if (session.subscriptions) {
      for (const key of session.subscriptions) {
        const set = this.#subscribers.get(key);
        set?.delete(session);
        if (set && set.size === 0) this.#subscribers.delete(key);
      }
    }
    if (session.serverRequests) {
      for (const fwd of session.serverRequests.values()) {
        fwd.connection.respond({ jsonrpc: "2.0", id: fwd.upstreamId, error: { code: -32603, message: "client session ended" } });
      }
    }
  }
}
