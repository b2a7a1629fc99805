import type { JsonRpcNotification, JsonRpcRequest, JsonRpcResponse } from "../../protocol/jsonrpc.js";
import type { MessageExtra } from "../../protocol/transport.js";
import type { PendingCall } from "../connection.js";
import { META, stampEnvelope } from "../handshake/envelope.js";
import { ListenStream, type ListenHost } from "./listen-stream.js";
import { MrtrBridge, type BridgeHost } from "./mrtr-bridge.js";
import { buildParamHeaders, scanParamHeaders, type ParamHeaderDeclaration } from "./param-headers.js";
import { extraHeaders } from "../transports/modern-headers.js";

/** Caching hints of a 2026-07-28 list result (SEP-2549), as the upstream gave them. */
export interface CacheHint {
  ttlMs: number;
  cacheScope: "public" | "private";
}

/** Methods whose result may be `input_required` (SEP-2322). */
const MRTR_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);
/** List methods whose caching hints the catalog keeps. */
const LIST_METHODS = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list"]);
/** Notifications the modern wire removed: the gateway does not send them to modern upstreams. */
const REMOVED_NOTIFICATIONS = new Set(["notifications/initialized", "notifications/roots/list_changed"]);

/** What the caller of a call can claim in its envelope (a legacy session: what it declared at initialize). */
interface CallerLike {
  era?: "legacy" | "modern";
  clientCapabilities?: Record<string, unknown>;
  logLevel?: string;
  /** A modern client's own `Mcp-Param-*` headers (forwarded; those derived from the body win). */
  paramHeaders?: Readonly<Record<string, string>>;
}

/**
 * Which calls the bridge drives: a legacy caller's (it gets real
 * server->client requests), unless the request already carries a retry
 * channel (`inputResponses`/`requestState`: someone else is driving the
 * rounds). A modern caller's `input_required` passes through to its edge
 * (src/eras/bridge/mrtr.ts), which seals the upstream's own requestState
 * with the upstream's name: stateless, so the retry works on any node.
 * Gateway-issued calls have no caller and are never bridged.
 */
function isBridged(call: PendingCall, request: JsonRpcRequest): boolean {
  if (call.owner === undefined || (call.owner as CallerLike).era === "modern") return false;
  const p = request.params;
  return p?.inputResponses === undefined && p?.requestState === undefined;
}

/** The tasks extension (SEP-2663): only a modern caller can poll a task, so only a modern caller may declare it upstream. */
const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/**
 * The capabilities a call declares upstream: its caller's, less the tasks
 * extension for anyone but a modern caller (a legacy client has no
 * `tasks/get` route through the gateway, so it must get plain results; a
 * required-task tool then answers it -32021 — docs/protocol-2026.md, Tasks).
 */
function offeredCapabilities(caller: CallerLike | undefined): Record<string, unknown> {
  const caps = caller?.clientCapabilities ?? {};
  const extensions = caps.extensions as Record<string, unknown> | undefined;
  if (caller?.era === "modern" || typeof extensions !== "object" || extensions === null || !(TASKS_EXTENSION in extensions)) return caps;
  const { [TASKS_EXTENSION]: _, ...rest } = extensions;
  return { ...caps, extensions: rest };
}

/** Everything the modern adapter needs of its connection. */
export interface ModernHost extends ListenHost, BridgeHost {
  readonly protocolVersion: string;
  readonly clientInfo: { name: string; version: string };
}

/**
 * The 2026-07-28 side of one upstream connection. The relay and catalog keep
 * speaking the legacy vocabulary; this adapter maps it onto the modern wire:
 * the `_meta` envelope on every request, `ping` and `logging/setLevel`
 * answered here (the log level travels per request), `resources/subscribe`
 * onto one `subscriptions/listen` stream, `input_required` results of legacy
 * callers through the MRTR bridge, and list results' caching hints recorded.
 */
export class ModernUpstream {
  readonly listen: ListenStream;
  readonly bridge: MrtrBridge;
  /** Last caching hints per list method (the catalog and the modern edge read them). */
  readonly cacheHints = new Map<string, CacheHint>();
  /** `x-mcp-header` declarations per upstream tool name, learned from tools/list. */
  readonly #paramHeaders = new Map<string, ParamHeaderDeclaration[]>();

  constructor(readonly host: ModernHost) {
    this.listen = new ListenStream(host);
    this.bridge = new MrtrBridge(host);
  }

  /**
   * A request about to go upstream. Returns an answer when the gateway
   * answers it itself (the method has no modern counterpart), else undefined
   * after rewriting it for the modern wire.
   */
  local(request: JsonRpcRequest, call: PendingCall): Promise<Record<string, unknown>> | undefined {
    switch (request.method) {
      case "logging/setLevel":
        // Removed upstream: each request carries its caller's level in _meta instead.
        return Promise.resolve({});
      case "resources/subscribe":
      case "resources/unsubscribe": {
        const uri = request.params?.uri;
        if (typeof uri !== "string") return Promise.reject(new Error("resources/subscribe needs a uri"));
        return this.listen.change(uri, request.method === "resources/subscribe").then(() => ({}));
      }
      case "ping":
        // Removed on the modern wire; a discover round trip proves the same liveness.
        request.method = "server/discover";
        return undefined;
      default:
        if (MRTR_METHODS.has(request.method) && isBridged(call, request)) this.bridge.track(call, request);
        return undefined;
    }
  }

  /** Writes the envelope for `call`'s caller into the request (after id and progress-token rewriting). */
  stamp(request: JsonRpcRequest, call: PendingCall): void {
    const caller = call.owner as CallerLike | undefined;
    stampEnvelope((request.params ??= {}), {
      protocolVersion: this.host.protocolVersion,
      clientCapabilities: offeredCapabilities(caller),
      clientInfo: this.host.clientInfo,
      logLevel: caller?.logLevel,
    });
    if (request.method === "tools/call") {
      // SEP-2243: arguments a tool declares with x-mcp-header are mirrored into Mcp-Param-* headers,
      // built from the body (the upstream's tool name, after namespace rewriting). A modern client's
      // own Mcp-Param-* headers go on too (intermediaries forward unknown ones), but a header built
      // here replaces the client's of the same name: the body decides.
      const declarations = this.#paramHeaders.get(request.params!.name as string);
      const built = declarations ? buildParamHeaders(declarations, request.params!.arguments) : undefined;
      const forwarded = caller?.paramHeaders;
      if (built || forwarded) extraHeaders.set(request, { ...forwarded, ...extraHeaders.get(request), ...built });
    }
  }

  /** An upstream answer; true when the adapter consumed it (bridged MRTR round). */
  onResponse(response: JsonRpcResponse, call: PendingCall): boolean {
    if ("result" in response && LIST_METHODS.has(call.method)) {
      const { ttlMs, cacheScope } = response.result as { ttlMs?: unknown; cacheScope?: unknown };
      if (typeof ttlMs === "number" && (cacheScope === "public" || cacheScope === "private")) this.cacheHints.set(call.method, { ttlMs, cacheScope });
      if (call.method === "tools/list") this.#learnParamHeaders(response.result?.tools);
    }
    return this.bridge.onResponse(response, call);
  }

  /**
   * A server message on its way to the relay: the listen stream's ack is
   * consumed, its notifications lose the `subscriptionId` stamp and the
   * relation to the listen request (nobody's call). Returns the extra to
   * deliver with, or null to drop the message.
   */
  inbound(message: JsonRpcRequest | JsonRpcNotification, extra: MessageExtra | undefined): MessageExtra | undefined | null {
    const meta = message.params?._meta as Record<string, unknown> | undefined;
    if (meta !== undefined && META.subscriptionId in meta) {
      if (this.listen.inbound(message as JsonRpcNotification)) return null;
      delete meta[META.subscriptionId];
      if (Object.keys(meta).length === 0) delete message.params!._meta;
      return undefined;
    }
    if (extra?.relatedRequestId !== undefined && this.listen.owns(extra.relatedRequestId)) return undefined;
    return extra;
  }

  #learnParamHeaders(tools: unknown): void {
    if (!Array.isArray(tools)) return;
    for (const tool of tools as Array<{ name?: unknown; inputSchema?: unknown }>) {
      if (typeof tool?.name !== "string") continue;
      const declarations = scanParamHeaders(tool.inputSchema);
      if (declarations.length > 0) this.#paramHeaders.set(tool.name, declarations);
      else this.#paramHeaders.delete(tool.name);
    }
  }

  /** True for notifications the modern wire removed (not sent upstream). */
  drops(message: JsonRpcNotification): boolean {
    return REMOVED_NOTIFICATIONS.has(message.method);
  }
}
