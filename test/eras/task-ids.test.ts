// Sealed task ids (src/eras/modern/tasks/task-ids.ts): what opens and what is refused, without a gateway.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Sealer } from "../../src/protocol/sealed.js";
import { openTaskId, ownerOf, sealTaskId } from "../../src/eras/modern/tasks/task-ids.js";
import { GatewayError } from "../../src/errors/index.js";

const sealer = new Sealer(Buffer.alloc(32, 7));
const alice = ownerOf({ clientId: "alice", scopes: [] }, "alice");
const token = { upstream: "jobs", id: "upstream-task-1", tool: "jobs_run", target: "run", owner: alice };

const refused = (reason: RegExp) => (err: unknown) => err instanceof GatewayError && err.code === "sealed_state_invalid" && reason.test(err.message);

test("a sealed task id opens to what was sealed, for its owner, on any sealer with the key", () => {
  const id = sealTaskId(sealer, token);
  assert.match(id, /^g1\./);
  assert.ok(!id.includes("upstream-task-1"));
  assert.deepEqual(openTaskId(new Sealer(Buffer.alloc(32, 7)), id, alice), token);
});

test("another client, another key, another purpose, or a non-token are refused", () => {
  const id = sealTaskId(sealer, token);
  assert.throws(() => openTaskId(sealer, id, ownerOf({ clientId: "bob", scopes: [] }, "bob")), refused(/another client/));
  // A self-named client is bound to its address too: the same name from elsewhere is another owner.
  assert.notEqual(ownerOf({ clientId: "anon", scopes: [], binding: "addr:1" }, "anon"), ownerOf({ clientId: "anon", scopes: [], binding: "addr:2" }, "anon"));
  assert.throws(() => openTaskId(new Sealer(Buffer.alloc(32, 8)), id, alice), refused(/integrity/));
  const state = sealer.seal("request_state", token);
  assert.throws(() => openTaskId(sealer, state, alice), refused(/integrity/));
  assert.throws(() => openTaskId(sealer, "upstream-task-1", alice), refused(/not a token/));
  assert.throws(() => openTaskId(sealer, 42, alice), (err: unknown) => err instanceof GatewayError && err.code === "invalid_params");
  const partial = sealer.seal("task_id", { upstream: "jobs", id: "x" } as never);
  assert.throws(() => openTaskId(sealer, partial, alice), refused(/malformed/));
});
