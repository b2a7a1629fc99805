/**
 * The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) on the
 * modern wire. Tasks live in the upstream that created them; the gateway
 * only seals their ids, routes `tasks/get`, `tasks/update` and
 * `tasks/cancel` by the sealed id (any node, no lookup), applies the tool
 * rules of the tool that created the task, and keeps the extension's
 * gating: no task surface for a request that did not declare it.
 * See docs/adr/0220-sealed-task-ids.md and docs/protocol-2026.md (Tasks).
 */
import type { JsonRpcRequest } from "../../../protocol/jsonrpc.js";
import type { CallerContext } from "../../../protocol/caller-context.js";
import type { Sealer } from "../../../protocol/sealed.js";
import { taskRoutes } from "../../../protocol/task-route.js";
import type { ToolFilter, ToolTarget } from "../../../relay/relay.js";
import { GatewayError } from "../../../errors/index.js";
import { missingCapability } from "../errors.js";
import { openTaskId, ownerOf, sealTaskId } from "./task-ids.js";

/** The extension's identifier (SEP-2663). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** The methods the extension defines on the 2026-07-28 wire (`tasks/result` and `tasks/list` are gone: -32601). */
export const TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/update", "tasks/cancel"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** True when `capabilities` (a request's clientCapabilities) declare the tasks extension. */
export function declaresTasks(capabilities: Record<string, unknown> | undefined): boolean {
  const extensions = capabilities?.extensions;
  return isObject(extensions) && extensions[TASKS_EXTENSION] !== undefined;
}

/** The -32021 a request without the extension gets where only a task will do. */
export function tasksRequired(): GatewayError {
  return missingCapability({ extensions: { [TASKS_EXTENSION]: {} } });
}

/** What the tasks layer reads of the gateway. */
export interface TasksDeps {
  sealer: Sealer;
  /** The tool a name leads to (the catalog). */
  resolveTool(name: string): ToolTarget | undefined;
  /** True while the upstream is configured (a task id may outlive a removed upstream). */
  hasUpstream(name: string): boolean;
  /** The tool rules, read per request (the auth layer installs them after the modern wire is built). */
  toolFilter(): ToolFilter | undefined;
}

/** What one call remembers between its request and its answer. */
interface Noted {
  /** tasks/*: the id the client sent (the answer shows it back, never the upstream's). */
  token?: string;
  /** tools/call: the tool, as the client named it and as the upstream knows it. */
  tool?: string;
  target?: ToolTarget;
}

/** Routes and seals tasks for modern callers. */
export class ModernTasks {
  readonly #noted = new WeakMap<CallerContext, Noted>();

  constructor(readonly deps: TasksDeps) {}

  /**
   * A `tasks/get|update|cancel` of `caller`: checks the gating, opens the
   * sealed id (throws -32602 for a foreign, tampered or another client's
   * id), applies the creating tool's rules, and rewrites the request for its
   * upstream. Returns the upstream it goes to.
   */
  route(caller: CallerContext, request: JsonRpcRequest): string {
    // SEP-2663: the task surface is gated on the request's own declaration (-32021, not -32601).
    if (!declaresTasks(caller.clientCapabilities)) throw tasksRequired();
    const clientId = request.params?.taskId;
    const token = openTaskId(this.deps.sealer, clientId, ownerOf(caller.identity, caller.clientId));
    if (!this.deps.hasUpstream(token.upstream)) {
      throw new GatewayError("sealed_state_invalid", { purpose: "task_id", reason: `its upstream ${token.upstream} is no longer configured` });
    }
    // A task answers for the tool that made it: a caller its rules no longer let call the tool cannot see the task either.
    const filter = this.deps.toolFilter();
    if (filter && !filter(caller, token.tool, { upstream: token.upstream, name: token.target })) throw new GatewayError("tool_not_found", { tool: token.tool });
    this.#noted.set(caller, { token: clientId as string });
    request.params = { ...request.params, taskId: token.id };
    taskRoutes.set(request, token.upstream);
    return token.upstream;
  }

  /**
   * A modern `tools/call` on its way: remembers the tool (the relay renames
   * it for the upstream, and drops a 2025-11-25 `task` hint).
   */
  noteToolCall(caller: CallerContext, request: JsonRpcRequest): void {
    const params = request.params;
    if (typeof params?.name === "string") this.#noted.set(caller, { tool: params.name, target: this.deps.resolveTool(params.name) });
  }

  /**
   * A complete result for `caller`: a CreateTaskResult gets its sealed id
   * (or -32021 when the request did not declare the extension: an upstream
   * must not hand it a task); a `tasks/get` shows the client's id back.
   */
  finish(method: string, upstream: string, caller: CallerContext, result: Record<string, unknown>): Record<string, unknown> | GatewayError {
    if (method === "tools/call" && result.resultType === "task") {
      if (!declaresTasks(caller.clientCapabilities)) return tasksRequired();
      const noted = this.#noted.get(caller);
      if (typeof result.taskId !== "string" || noted?.tool === undefined) {
        return new GatewayError("internal_error", { detail: "the upstream created a task without a taskId" });
      }
      const taskId = sealTaskId(this.deps.sealer, {
        upstream,
        id: result.taskId,
        tool: noted.tool,
        target: noted.target?.name ?? noted.tool,
        owner: ownerOf(caller.identity, caller.clientId),
      });
      return { ...result, taskId };
    }
    if (method === "tasks/get") {
      const token = this.#noted.get(caller)?.token;
      if (token !== undefined && "taskId" in result) return { ...result, taskId: token };
    }
    return result;
  }
}

/**
 * `server/discover`: the gateway offers the extension when an upstream does
 * (the tasks live there). Never the 2025-11-25 `capabilities.tasks` slot:
 * that era's tasks have no route on the modern wire.
 */
export function advertiseTasks(discovered: Record<string, unknown>, upstreams: Iterable<Record<string, unknown> | undefined>): void {
  const capabilities = discovered.capabilities as Record<string, unknown>;
  delete capabilities.tasks;
  for (const c of upstreams) {
    if (!declaresTasks(c)) continue;
    capabilities.extensions = { ...(isObject(capabilities.extensions) ? capabilities.extensions : {}), [TASKS_EXTENSION]: {} };
    return;
  }
}
