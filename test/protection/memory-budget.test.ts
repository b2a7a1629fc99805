/**
 * Issue 11, the memory check: a flood of sessions and a set of clients that
 * stop reading stay within the documented budgets (session.max_sessions,
 * backpressure.max_total_buffered_bytes), and memory (heap + external, after
 * GC) returns to within 10% of the start once they are gone. Measured in a
 * child process with --expose-gc (test/fixtures/memory-flood.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";

test("session flood and non-reading clients: bounded while they last, memory back within 10% after", async () => {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "test/fixtures/memory-flood.ts"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const [code] = (await once(child, "exit")) as [number];
  assert.equal(code, 0, `child failed:\n${err.slice(-2000)}`);
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
    before: number; after: number; peakSessions: number; maxSessions: number; statuses: Record<string, number>;
    held: { replay: number; socket: number }; budget: number; perClient: number; slowClients: number;
  };
  assert.ok(r.peakSessions <= r.maxSessions, `peak ${r.peakSessions} sessions > session.max_sessions ${r.maxSessions}`);
  assert.ok((r.statuses["429"] ?? 0) > 0, `the flood met the cap: ${JSON.stringify(r.statuses)}`);
  assert.ok(r.held.replay <= r.budget, `replay ${r.held.replay} > budget ${r.budget}`);
  // A client that is behind may hold one message past its own cap before it counts as full.
  assert.ok(r.held.socket <= r.slowClients * (r.perClient + 61_000), `unread socket bytes ${r.held.socket}`);
  assert.equal((r as { left?: number }).left, 0, "every session gone");
  assert.ok(r.after <= r.before * 1.1, `memory ${(r.after / 1048576).toFixed(1)} MB after vs ${(r.before / 1048576).toFixed(1)} MB before`);
});
