// Three gateway processes on the real Redis in front of ONE tasks upstream (the SDK v2 tasks
// fixture over Streamable HTTP, shared by all nodes, as a real deployment's task-holding server
// would be). Every request goes to the next node in turn: a task created through one node is
// polled, updated and cancelled through the others. The sealed task id names its upstream, so no
// node looks anything up; zero errors.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { purge, REDIS_SKIP, SHARED_REDIS, startNode, testPrefix, type Node } from "./helpers.js";

const EXTENSION = "io.modelcontextprotocol/tasks";
const prefix = testPrefix("modern-tasks");
const nodes: Node[] = [];
let fixture: ChildProcess | undefined;

before(async () => {
  if (REDIS_SKIP) return;
  fixture = spawn(process.execPath, ["--import", "tsx", "test/fixtures/tasks-server.ts", "--transport", "http"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve, reject) => {
    let buf = "";
    fixture!.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    fixture!.once("exit", (code) => reject(new Error(`tasks fixture exited (${code}): ${buf}`)));
  });
  const config = {
    cluster: { redis_url: SHARED_REDIS, key_prefix: prefix },
    rate_limiting: { enabled: false },
    // Every node seals and opens task ids with the same key.
    modern: { state_key: `key-of-${prefix}` },
    upstreams: [{ name: "tasks", transport: "streamable_http", protocol: "modern", url: `http://127.0.0.1:${port}/mcp` }],
  };
  nodes.push(...(await Promise.all(["tk-a", "tk-b", "tk-c"].map((n) => startNode(n, config, 90_000)))));
});

after(async () => {
  if (REDIS_SKIP) return;
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  if (fixture && fixture.exitCode === null) {
    const gone = once(fixture, "exit");
    fixture.kill("SIGTERM");
    await gone;
  }
  await purge(SHARED_REDIS, prefix);
});

let next = 0;
const served: string[] = [];
let id = 0;
/** One 2026-07-28 request with the extension declared, sent to the next node in turn. */
async function rpc(method: string, params: Record<string, unknown>): Promise<{ result?: Record<string, any>; error?: { code: number; message: string } }> {
  const node = nodes[next++ % nodes.length]!;
  served.push(`${node.name} ${method}`);
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": method };
  const name = (params.taskId ?? params.name) as string | undefined;
  if (name) headers["mcp-name"] = name;
  const body = { jsonrpc: "2.0", id: ++id, method, params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": { elicitation: {}, extensions: { [EXTENSION]: {} } } } } };
  const res = await fetch(`${node.url}/mcp`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  return JSON.parse(text.trimStart().startsWith("{") ? text : text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).pop()!);
}

test("task polls, updates and cancels land on other nodes than the one that created the task: zero errors", { skip: REDIS_SKIP }, async () => {
  const errors: string[] = [];
  const expect = (what: string, r: { result?: Record<string, any>; error?: unknown }, ok: (res: Record<string, any>) => boolean) => {
    if (r.error !== undefined || !ok(r.result!)) errors.push(`${what}: ${JSON.stringify(r)}`);
    return r.result ?? {};
  };
  const poll = async (taskId: string, statuses: string[]) => {
    for (let i = 0; i < 100; i++) {
      const got = expect("tasks/get", await rpc("tasks/get", { taskId }), (res) => res.taskId === taskId);
      if (statuses.includes(got.status) || got.status === undefined) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    errors.push(`task never reached ${statuses.join("|")}`);
    return {};
  };
  for (let round = 0; round < 3; round++) {
    const quick = expect("create", await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 0.3, label: `r${round}` } }), (res) => res.resultType === "task");
    const done = await poll(quick.taskId, ["completed", "failed", "cancelled"]);
    if (!/computed r\d/.test(JSON.stringify(done.result))) errors.push(`result: ${JSON.stringify(done)}`);

    const asking = expect("create", await rpc("tools/call", { name: "confirm_delete", arguments: { filename: `f${round}` } }), (res) => res.resultType === "task");
    const parked = await poll(asking.taskId, ["input_required"]);
    if (!parked.inputRequests?.confirm) errors.push(`inputRequests: ${JSON.stringify(parked)}`);
    expect("update", await rpc("tasks/update", { taskId: asking.taskId, inputResponses: { confirm: { action: "accept", content: { confirm: true } } } }), (res) => res.resultType === "complete");
    const deleted = await poll(asking.taskId, ["completed", "failed", "cancelled"]);
    if (!/deleted f\d/.test(JSON.stringify(deleted.result))) errors.push(`after update: ${JSON.stringify(deleted)}`);

    const long = expect("create", await rpc("tools/call", { name: "slow_compute", arguments: { seconds: 60 } }), (res) => res.resultType === "task");
    expect("cancel", await rpc("tasks/cancel", { taskId: long.taskId }), (res) => res.resultType === "complete");
    const cancelled = await poll(long.taskId, ["cancelled", "completed", "failed"]);
    if (cancelled.status !== "cancelled") errors.push(`cancel: ${JSON.stringify(cancelled)}`);
  }
  assert.deepEqual(errors, []);
  for (const n of nodes) assert.ok(served.some((s) => s === `${n.name} tasks/get`), `${n.name} served task polls`);
});
