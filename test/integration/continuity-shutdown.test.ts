// SIGTERM under load: the gateway runs as a child process (the real CLI, through tsx);
// WebSocket and HTTP+SSE clients have calls in flight when it gets SIGTERM. Calls that
// can finish within shutdown.drain_timeout are answered, the one that cannot gets a
// shutting_down error, WebSocket clients then receive 1001, the SSE stream gets retry:
// and ends, and the process exits 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Inbox, openLegacySse, request, STREAM_FIXTURE } from "../helpers/continuity.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DRAIN = 3000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A bare-JSON-RPC WebSocket client with its frames in an inbox. */
async function wsClient(base: string, clientId: string) {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/mcp/ws?client_id=${clientId}`, ["mcp"]);
  const inbox = new Inbox<Record<string, any>>();
  const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  ws.on("message", (d) => inbox.push(JSON.parse(d.toString())));
  ws.on("error", () => {});
  await new Promise((r, j) => {
    ws.once("open", r);
    ws.once("error", j);
  });
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "s", version: "1" } } });
  assert.equal((await inbox.next()).id, 1);
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return { ws, inbox, closed, send };
}

test("SIGTERM under load: in-flight calls answered, 1001 to WebSocket clients, retry: to SSE, exit 0", { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gw-shutdown-"));
  const configFile = join(dir, "gateway.yaml");
  writeFileSync(
    configFile,
    [
      "logging: {dir: '', stdout: true, format: text}",
      "routing: {prefix: never}",
      "rate_limiting: {enabled: false}",
      `shutdown: {drain_timeout: ${DRAIN}}`,
      "upstreams:",
      "  - name: stream",
      "    transport: stdio",
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: ["--import", "tsx", ${JSON.stringify(STREAM_FIXTURE)}]`,
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "start", "--config", configFile, "--port", String(port)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      if (out.includes("listening on")) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => reject(new Error(`gateway exited ${code} before listening:\n${out}`)));
  });
  const base = `http://127.0.0.1:${port}`;

  // Load: 4 WebSocket clients each with a ~1 s streaming call, one with a call longer than the drain.
  const clients = await Promise.all([0, 1, 2, 3].map((i) => wsClient(base, `load${i}`)));
  for (const c of clients) c.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 10, interval_ms: 100 }, _meta: { progressToken: "t" } } });
  const slow = await wsClient(base, "slow");
  slow.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "sleep", arguments: { ms: 30_000 } } });
  // An HTTP+SSE client with a call in flight too.
  const sse = await openLegacySse(base, "sse-load");
  await sse.send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "s", version: "1" } } });
  await sse.inbox.next();
  await sse.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "stream_numbers", arguments: { count: 5, interval_ms: 100 }, _meta: { progressToken: "s" } } });
  // Every call is in flight once its first progress arrived.
  for (const c of clients) assert.equal((await c.inbox.next()).method, "notifications/progress");
  const firstSse = await sse.inbox.next();
  assert.ok("seq" in firstSse && firstSse.message.method === "notifications/progress");
  // A raw view of the SSE stream's tail, to see the retry: hint before it ends.
  const rawTail = await request(`${base}/mcp/sse?client_id=sse-watch`, "GET", { accept: "text/event-stream" });
  let tail = "";
  rawTail.res.on("data", (c: Buffer) => (tail += c.toString()));
  const tailEnded = new Promise<void>((r) => rawTail.res.once("close", () => r()));
  await new Promise<void>((r) => rawTail.res.once("data", () => r()));

  const signalled = Date.now();
  child.kill("SIGTERM");

  // Every WebSocket call gets its answer (all progress first), then 1001.
  for (const c of clients) {
    const seen: Array<Record<string, any>> = [];
    for (let i = 0; i < 20; i++) {
      const m = await c.inbox.next(DRAIN + 5000);
      seen.push(m);
      if (m.id === 2) break;
    }
    const answer = seen.at(-1)!;
    assert.equal(answer.id, 2);
    assert.equal(answer.result?.content?.[0]?.text, "10", `answered, not dropped: ${JSON.stringify(answer)}`);
    assert.equal(seen.filter((m) => m.method === "notifications/progress").length, 9, "the rest of the progress arrived too");
    assert.equal(await c.closed, 1001);
  }
  // The call longer than the drain gets an explicit shutting_down error, then 1001.
  const slowAnswer = await slow.inbox.next(DRAIN + 5000);
  assert.equal(slowAnswer.id, 2);
  assert.equal(slowAnswer.error?.data?.error, "shutting_down");
  assert.equal(await slow.closed, 1001);
  // The SSE client's call is answered on its stream.
  let sseAnswer: Record<string, any> | undefined;
  for (let i = 0; i < 10 && !sseAnswer; i++) {
    const r = await sse.inbox.next(DRAIN + 5000);
    if ("seq" in r && r.message.id === 2) sseAnswer = r.message;
  }
  assert.equal(sseAnswer?.result?.content?.[0]?.text, "5");
  await tailEnded;
  assert.match(tail, /retry: \d+\n\n$/, "the SSE stream ends with a retry: hint");

  assert.equal(await exited, 0, `exit code 0; output:\n${out}`);
  const took = Date.now() - signalled;
  t.diagnostic(`SIGTERM -> exit in ${took} ms (drain_timeout ${DRAIN} ms)`);
  // New connections are refused once it stopped accepting.
  await assert.rejects(request(`${base}/health`, "GET", {}));
});
