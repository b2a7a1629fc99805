/**
 * Task ids on the modern wire (the `io.modelcontextprotocol/tasks`
 * extension, SEP-2663): the id a client sees is a sealed token that wraps
 * the upstream's own task id and names the upstream, the tool that created
 * it and the caller it belongs to. Any gateway node holding the key routes a
 * `tasks/get` with no lookup; nobody can forge one, read the upstream's id,
 * or poll another caller's task (docs/adr/0220-sealed-task-ids.md).
 */
import { createHash } from "node:crypto";
import type { Sealer, SealedPayload } from "../../../protocol/sealed.js";
import type { ClientIdentity } from "../../../listeners/identity.js";
import { GatewayError } from "../../../errors/index.js";

/** What a sealed task id holds. */
export interface TaskToken extends SealedPayload {
  /** The upstream's own task id. */
  id: string;
  /** The tool that created the task: its exposed name and its name on the upstream (tool rules bind to either). */
  tool: string;
  target: string;
  /** Who may operate on the task (a digest of client id and binding). */
  owner: string;
}

/** The digest that binds a task to its caller: the client id and, for a self-named client, its binding. */
export function ownerOf(identity: ClientIdentity | undefined, clientId: string): string {
  const key = `${clientId}\u0000${identity?.binding ?? ""}`;
  return createHash("sha256").update(key, "utf8").digest("base64url").slice(0, 22);
}

/** Seals an upstream task id for the client (no expiry of its own: the upstream's ttlMs bounds the task). */
export function sealTaskId(sealer: Sealer, token: TaskToken): string {
  return sealer.seal("task_id", token);
}

/**
 * Opens a client's task id; throws `sealed_state_invalid` (-32602, what
 * SEP-2663 asks for an unknown task) for anything not sealed by this
 * cluster, and for another caller's task (told apart only in the reason).
 */
export function openTaskId(sealer: Sealer, taskId: unknown, owner: string): TaskToken {
  if (typeof taskId !== "string") throw new GatewayError("invalid_params", { detail: "params.taskId must be a string" });
  const token = sealer.open<TaskToken>("task_id", taskId);
  if (typeof token.id !== "string" || typeof token.tool !== "string" || typeof token.target !== "string" || typeof token.owner !== "string") {
    throw new GatewayError("sealed_state_invalid", { purpose: "task_id", reason: "malformed" });
  }
  if (token.owner !== owner) throw new GatewayError("sealed_state_invalid", { purpose: "task_id", reason: "it belongs to another client" });
  return token;
}
