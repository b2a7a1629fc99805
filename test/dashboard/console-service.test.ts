// The console's server side without a browser: the ring buffers, the sampler that
// runs exactly while a console is open (no timer, no call sink, no log tail
// otherwise), the stream's frames, and the admin additions it relies on (client
// list, ending a client's sessions, every write recorded with who made it).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import diagnostics_channel from "node:diagnostics_channel";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { SeriesStore } from "../../src/dashboard/series.js";
import { operationsOf } from "../../src/admin/install.js";
import { channels, type LogEvent } from "../../src/telemetry/channels.js";
import type { Gateway } from "../../src/gateway.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { WsClient } from "../helpers/ws-client.js";

test("SeriesStore keeps the last `capacity` points per series, blank before a series appeared", () => {
  const s = new SeriesStore(3);
  s.push(1000, { a: 1 });
  s.push(2000, { a: 2, b: 20 });
  s.push(3000, { a: 3 });
  s.push(4000, { a: 4, b: 40 });
  const snap = s.snapshot();
  assert.deepEqual(snap.t, [2, 3, 4]);
  assert.deepEqual(snap.series.a, [2, 3, 4]);
  assert.deepEqual(snap.series.b, [20, null, 40]);
});

test("the server never imports the browser code (src/dashboard/ui/ is bundled, not loaded)", () => {
  const src = resolve(import.meta.dirname, "../../src");
  const offenders: string[] = [];
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const file = join(entry.parentPath, entry.name);
    const rel = relative(src, file);
    if (rel.startsWith(join("dashboard", "ui"))) continue;
    if (/from\s+["'][^"']*\/ui\/[^"']*["']|import\(["'][^"']*dashboard\/ui/.test(readFileSync(file, "utf8"))) offenders.push(rel);
  }
  assert.deepEqual(offenders, []);
  assert.match(readFileSync(resolve(src, "../tsconfig.build.json"), "utf8"), /"src\/dashboard\/ui"/, "the server build leaves the browser code out");
});

let gateway: Gateway;
let url: string;
const TOKEN = "console-service-token";

before(async () => {
  ({ gateway, url } = await startTestGateway({ admin: { token: TOKEN }, upstreams: [everythingUpstream()] }));
});
after(() => gateway?.close());

/** Reads SSE frames from /dashboard/stream until `until` holds for the events seen. */
async function readStream(until: (events: Array<{ event: string; data: any }>) => boolean) {
  const ac = new AbortController();
  const res = await fetch(`${url}/dashboard/stream`, { signal: ac.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: any }> = [];
  let buf = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  return { events, close: () => ac.abort() };
}

test("the sampler runs only while a console is open, and each tick carries every series", async () => {
  const { console: svc } = operationsOf(gateway);
  assert.equal(svc.sampling, false, "no console open: no timer");
  assert.equal(svc.viewers, 0);
  const s = await readStream((ev) => ev.filter((e) => e.event === "tick").length >= 2);
  assert.equal(svc.sampling, true);
  const hello = s.events.find((e) => e.event === "hello")!.data;
  assert.equal(hello.capacity, 900);
  assert.ok(Array.isArray(hello.catalogue) && hello.catalogue[0].upstream === "everything");
  assert.ok(hello.catalogue[0].tools.some((t: { exposed: string }) => t.exposed === "echo"));
  const tick = s.events.find((e) => e.event === "tick")!.data;
  for (const k of ["calls_upstream:everything", "error_rate:all", "connections:websocket", "pool:everything", "loop:p99", "heap:used", "memory:rss_mb", "lag:max"]) assert.ok(k in tick.values, k);
  const state = s.events.find((e) => e.event === "state")!.data;
  assert.equal(state.upstreams[0].replicas[0].id, "everything#0");
  assert.equal(state.upstreams[0].replicas[0].breaker.state, "closed");
  // The read-only stream names no client.
  assert.doesNotMatch(JSON.stringify(s.events), /client_id/);
  s.close();
  // The server notices the closed stream on its own schedule: wait for its close, then check.
  await new Promise<void>((resolve) => {
    const check = () => (svc.viewers === 0 ? resolve() : setImmediate(check));
    check();
  });
  assert.equal(svc.sampling, false, "last console closed: sampling stopped");
  assert.ok(svc.series.length >= 2, "the history stays for the next console");
});

test("client list, ending a client's sessions, and who did it in the log", async () => {
  const admin = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "x-mcp-operator": "bob;<b>x</b>\t(admin)" };
  const ws = await WsClient.open(url, "listed-client");
  await ws.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } });
  const closed = new Promise<number>((resolve) => ws.ws.once("close", (code) => resolve(code)));
  const lines: LogEvent[] = [];
  const onLog = (m: unknown) => void lines.push(m as LogEvent);
  diagnostics_channel.subscribe(channels.log.name, onLog);
  try {
    const list = await (await fetch(`${url}/mcp/admin/clients?q=listed`, { headers: admin })).json();
    assert.equal(list.total, 1);
    assert.equal(list.clients[0].client_id, "listed-client");
    assert.equal(list.clients[0].transport, "websocket");
    assert.equal((await fetch(`${url}/mcp/admin/clients`)).status, 401, "the list is admin data");

    const refused = await fetch(`${url}/mcp/admin/clients/listed-client/disconnect`, { method: "POST", headers: { "x-mcp-operator": "mallory" } });
    assert.equal(refused.status, 401);
    const ended = await fetch(`${url}/mcp/admin/clients/listed-client/disconnect`, { method: "POST", headers: admin, body: "{}" });
    assert.deepEqual(await ended.json(), { client_id: "listed-client", ended: 1 });
    assert.equal(await closed, 1001);
    assert.equal(gateway.registry.byClient("listed-client").length, 0);
    const unknown = await fetch(`${url}/mcp/admin/clients/nobody/disconnect`, { method: "POST", headers: admin, body: "{}" });
    assert.equal(unknown.status, 404);

    const audit = lines.filter((l) => l.component === "MCP.Admin").map((l) => l.msg);
    assert.equal(audit.length, 3, audit.join("\n"));
    assert.match(audit[0]!, /^admin action POST \/mcp\/admin\/clients\/listed-client\/disconnect by mallory \(admin-api, [^)]+\): refused admin_unauthorized$/);
    // The declared name cannot forge a line: markup, parentheses and control characters are dropped.
    assert.match(audit[1]!, /^admin action POST \/mcp\/admin\/clients\/listed-client\/disconnect by bobbxbadmin \(admin-api, [^)]+\): done$/);
    assert.match(audit[2]!, /refused client_not_found$/);
    assert.ok(!lines.some((l) => l.component === "MCP.Admin" && /GET/.test(l.msg)), "reads are not recorded");
  } finally {
    diagnostics_channel.unsubscribe(channels.log.name, onLog);
  }
});
