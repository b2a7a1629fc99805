/**
 * The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663) through the
 * gateway: the SDK v2 tasks fixture (test/fixtures/tasks-server.ts) as a
 * modern stdio upstream, a 2026-07-28 client over HTTP. The SDK v2 client
 * (2.4) has no client-side tasks API (it refuses `tasks/*` on the modern era),
 * so the client here is plain `fetch` speaking the revision's wire: envelope
 * in `_meta`, `Mcp-Method`/`Mcp-Name` headers. A v1 SDK client checks the
 * legacy side. Auth is api_key, so tool rules (scopes) and ownership apply.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { z } from "zod";
import { startTestGateway } from "../helpers/gateway.js";
import { Sealer } from "../../src/protocol/sealed.js";
import type { Gateway } from "../../src/gateway.js";

const EXTENSION = "io.modelcontextprotocol/tasks";
const sha = (k: string) => createHash("sha256").update(k).digest("hex");
/** alice with the `jobs` scope, alice again without it, and bob. */
const KEYS = { alice: "key-alice-jobs", aliceLimited: "key-alice-plain", bob: "key-bob-jobs" };

let gateway: Gateway;
let url: string;

before(async () => {
  ({ gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    auth: {
      mode: "api_key",
      api_keys: [
        { sha256: sha(KEYS.alice), client_id: "alice", scopes: ["jobs"] },
        { sha256: sha(KEYS.aliceLimited), client_id: "alice", scopes: [] },
        { sha256: sha(KEYS.bob), client_id: "bob", scopes: ["jobs"] },
      ],
      // The long-running tools need the `jobs` scope; the rest stays open.
      tool_rules: [
        { upstream: "tasks", tool: "slow_compute", allow_scopes: ["jobs"] },
        { upstream: "tasks", tool: "confirm_delete", allow_scopes: ["jobs"] },
      ],
    },
    upstreams: [
      { name: "tasks", transport: "stdio", protocol: "modern", command: process.execPath, args: ["--import", "tsx", "test/fixtures/tasks-server.ts", "--transport", "stdio"] },
      // A 2025-11-25 server with that revision's tasks (advertises capabilities.tasks).
      { name: "legacy", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/legacy-tasks-server.ts"] },
    ],
  } as never));
  for (const name of ["tasks", "legacy"]) assert.ok(await gateway.manager.groups.get(name)!.replicas[0]!.waitReady(60_000), `${name} came up`);
});
after(() => gateway.close());

interface Answer {
  status: number;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: Record<string, any> };
}

let nextId = 0;
/** One 2026-07-28 request; `caps` are the request's clientCapabilities (the extension declared by default). */
async function rpc(method: string, params: Record<string, unknown>, opts: { key?: string; caps?: Record<string, unknown>; name?: string } = {}): Promise<Answer> {
  const caps = opts.caps ?? { elicitation: {}, extensions: { [EXTENSION]: {} } };
  const body = { jsonrpc: "2.0", id: ++nextId, method, params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": caps } } };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
    authorization: `Bearer ${opts.key ?? KEYS.alice}`,
  };
  const name = opts.name ?? (params.taskId ?? params.name) as string | undefined;
  if (typeof name === "string") headers["mcp-name"] = name;
  const res = await fetch(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  const json = text.trimStart().startsWith("{") ? text : text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).pop()!;
  const msg = JSON.parse(json) as { result?: Record<string, any>; error?: Answer["error"] };
  return { status: res.status, result: msg.result, error: msg.error };
}

/** Polls tasks/get until the status is one of `statuses` (the fixture's pollIntervalMs is 100). */
async function until(taskId: string, statuses: string[], key = KEYS.alice): Promise<Record<string, any>> {
  for (let i = 0; i < 200; i++) {
    const r = await rpc("tasks/get", { taskId }, { key });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    if (statuses.includes(r.result!.status)) return r.result!;
    await new Promise((resolve) => setTimeout(resolve, r.result!.pollIntervalMs ?? 100));
  }
  throw new Error(`task never reached ${statuses.join("|")}`);
}

test("server/discover offers the extension (never the 2025 capabilities.tasks slot)", async () => {
  const r = await rpc("server/discover", {});
  assert.deepEqual(r.result!.capabilities.extensions?.[EXTENSION], {});
  assert.equal(r.result!.capabilities.tasks, undefined);
});

test("tools/call creates a task with a sealed id; tasks/get polls it to completed with the result inlined", async () => {
  const created = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 0.2, label: "a" } });
  assert.equal(created.result!.resultType, "task");
  const taskId = created.result!.taskId as string;
  assert.match(taskId, /^g1\./, "the client sees the gateway's sealed id");
  assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(taskId), "the upstream's own id is not readable in it");
  const working = await rpc("tasks/get", { taskId });
  assert.equal(working.result!.taskId, taskId, "tasks/get shows the client's id back");
  assert.equal(working.result!.resultType, "complete");
  const done = await until(taskId, ["completed"]);
  assert.equal(done.taskId, taskId);
  assert.match(JSON.stringify(done.result.content), /computed a/);
});

test("tasks/cancel acks and the task settles to cancelled; input_required goes through tasks/update", async () => {
  const long = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 60 } });
  const ack = await rpc("tasks/cancel", { taskId: long.result!.taskId });
  assert.deepEqual(Object.keys(ack.result!).sort(), ["_meta", "resultType"]);
  assert.equal((await until(long.result!.taskId, ["cancelled", "completed", "failed"])).status, "cancelled");

  const asking = await rpc("tools/call", { name: "confirm_delete", arguments: { filename: "f.txt" } });
  const parked = await until(asking.result!.taskId, ["input_required"]);
  assert.deepEqual(Object.keys(parked.inputRequests), ["confirm"]);
  assert.equal(parked.inputRequests.confirm.method, "elicitation/create");
  const updated = await rpc("tasks/update", { taskId: asking.result!.taskId, inputResponses: { confirm: { action: "accept", content: { confirm: true } } } });
  assert.equal(updated.result!.resultType, "complete");
  const done = await until(asking.result!.taskId, ["completed", "failed"]);
  assert.match(JSON.stringify(done.result), /deleted f\.txt/);
});

test("a tampered, foreign or raw upstream task id is refused with sealed_state_invalid (-32602); so is another client's", async () => {
  const created = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 30 } });
  const taskId = created.result!.taskId as string;
  const flipped = taskId.slice(0, 20) + (taskId[20] === "A" ? "B" : "A") + taskId.slice(21);
  const foreign = new Sealer().seal("task_id", { upstream: "tasks", id: "x", tool: "slow_compute", target: "slow_compute", owner: "o" });
  for (const bad of [flipped, foreign, "3f1c5a7e-0000-4000-8000-000000000000"]) {
    const r = await rpc("tasks/get", { taskId: bad });
    assert.equal(r.status, 400);
    assert.equal(r.error!.code, -32602);
    assert.equal(r.error!.data!.error, "sealed_state_invalid");
  }
  const bob = await rpc("tasks/get", { taskId }, { key: KEYS.bob });
  assert.equal(bob.error!.code, -32602);
  assert.match(bob.error!.message, /another client/);
  // A header that names another task than the body is a mismatch (SEP-2243), whoever routes it.
  const mismatch = await rpc("tasks/get", { taskId }, { name: "another-task" });
  assert.equal(mismatch.error!.code, -32020);
  await rpc("tasks/cancel", { taskId });
});

test("tool rules apply to a task: a key without the creating tool's scope cannot poll or cancel it", async () => {
  const created = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 30 } });
  const taskId = created.result!.taskId as string;
  for (const method of ["tasks/get", "tasks/cancel"]) {
    const denied = await rpc(method, { taskId }, { key: KEYS.aliceLimited });
    assert.equal(denied.error!.data!.error, "tool_not_found", method);
  }
  assert.equal((await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 0 } }, { key: KEYS.aliceLimited })).error!.data!.error, "tool_not_found");
  // The owner with the scope still can.
  assert.equal((await rpc("tasks/cancel", { taskId })).result!.resultType, "complete");
});

test("gating: without the extension tasks/* are -32021, task tools run synchronously or say the extension is required", async () => {
  const plain = { elicitation: {} };
  const created = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 30 } });
  const gated = await rpc("tasks/get", { taskId: created.result!.taskId }, { caps: plain });
  assert.equal(gated.error!.code, -32021);
  assert.deepEqual(gated.error!.data!.requiredCapabilities, { extensions: { [EXTENSION]: {} } });
  const sync = await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 0, label: "sync" } }, { caps: plain });
  assert.equal(sync.result!.resultType, "complete");
  assert.match(JSON.stringify(sync.result!.content), /computed sync/);
  const required = await rpc("tools/call", { name: "failing_job", arguments: {} }, { caps: plain });
  assert.equal(required.error!.code, -32021);
  for (const removed of ["tasks/result", "tasks/list"]) assert.equal((await rpc(removed, { taskId: "x" })).error!.code, -32601, removed);
  await rpc("tasks/cancel", { taskId: created.result!.taskId });
});

test("a legacy (v1 SDK) client never gets a task: the extension is not offered upstream, tasks/get is -32601", async () => {
  const client = new V1Client({ name: "v1", version: "1.0.0" }, { capabilities: { extensions: { [EXTENSION]: {} } } as never });
  await client.connect(new V1Transport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }));
  try {
    const r = await client.callTool({ name: "slow_compute", arguments: { seconds: 0, label: "legacy" } });
    assert.match(JSON.stringify(r.content), /computed legacy/);
    await assert.rejects(client.callTool({ name: "failing_job", arguments: {} }), (err: { code?: number }) => err.code === -32021);
    await assert.rejects(client.request({ method: "tasks/get", params: { taskId: "x" } } as never, z.object({}).passthrough()), (err: { code?: number }) => err.code === -32601);
  } finally {
    await client.close();
  }
});

test("2025-11-25 tasks of a legacy upstream are not offered: the task hint is dropped, optional runs synchronously, required says so", async () => {
  // A modern client that declared the extension, and sends a legacy `task` hint too.
  const optional = await rpc("tools/call", { name: "legacy_optional", arguments: {}, task: { ttl: 60_000 } });
  assert.equal(optional.result!.resultType, "complete");
  assert.match(JSON.stringify(optional.result!.content), /legacy done/);
  const required = await rpc("tools/call", { name: "legacy_required", arguments: {} });
  // The SDK v1 upstream says it in a tool error result (its -32601 wrapped as isError).
  assert.equal(required.result!.isError, true);
  assert.match(JSON.stringify(required.result!.content), /requires task augmentation/);
  // A legacy client asking for 2025-11-25 task augmentation gets the plain result, never a task it could not poll.
  const client = new V1Client({ name: "v1", version: "1.0.0" }, { capabilities: {} });
  await client.connect(new V1Transport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }));
  try {
    const r = await client.request({ method: "tools/call", params: { name: "legacy_optional", arguments: {}, task: { ttl: 60_000 } } } as never, z.object({}).passthrough());
    assert.equal((r as { task?: unknown }).task, undefined);
    assert.match(JSON.stringify(r), /legacy done/);
  } finally {
    await client.close();
  }
});
