// The young-generation cap (src/cli/young-generation.ts, ADR 0200 item 15) in real child processes: V8 flags are
// per process, so each case is its own `node`. A burst of objects that survive (what a burst of connections is)
// grows V8's new space to 32 MB by default; capped it stays at 4 MB, and an operator's own sizing flag wins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const MB = 1024 * 1024;

/** Runs a burst of surviving allocations in async rounds (the observer runs between them) and prints new space's size. */
function burst(nodeArgs: string[], capped: boolean): { newSpace: number; capped: boolean; cap: number | null } {
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    import { capYoungGeneration, youngGenerationCap } from "./src/cli/young-generation.ts";
    const capped = ${capped} ? capYoungGeneration() : false;
    const keep = [];
    let max = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 20000; i++) keep.push({ i, s: "session " + i });
      await new Promise((r) => setImmediate(r));
      const ns = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
      max = Math.max(max, ns.space_size);
    }
    console.log(JSON.stringify({ newSpace: max, capped, cap: youngGenerationCap() ?? null, kept: keep.length }));
  `;
  const out = execFileSync(process.execPath, [...nodeArgs, "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  return JSON.parse(out.trim().split("\n").at(-1)!) as { newSpace: number; capped: boolean; cap: number | null };
}

test("without the cap a burst of survivors grows new space past 4 MB (the control)", () => {
  const r = burst([], false);
  assert.ok(r.newSpace > 8 * MB, `new space ${(r.newSpace / MB).toFixed(1)} MB`);
});

test("capped, the same burst leaves new space at 4 MB at most", () => {
  const r = burst([], true);
  assert.equal(r.capped, true);
  assert.equal(r.cap, 4 * MB, "the cap in force, as /mcp/admin/memory reports it");
  assert.ok(r.newSpace <= 4 * MB, `new space ${(r.newSpace / MB).toFixed(1)} MB`);
});

test("an operator's --max-semi-space-size switches the cap off", () => {
  const r = burst(["--max-semi-space-size=8"], true);
  assert.equal(r.capped, false);
  assert.equal(r.cap, null);
  assert.ok(r.newSpace > 4 * MB, `new space ${(r.newSpace / MB).toFixed(1)} MB`);
});
