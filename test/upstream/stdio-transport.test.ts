/**
 * StdioUpstreamTransport's line framing against a real child process: a
 * multi-MB message arriving in many small pipe chunks, several messages in one
 * chunk, and a message split right at its newline all come out whole and in order.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StdioUpstreamTransport } from "../../src/upstream/transports/stdio.js";
import type { JsonRpcMessage } from "../../src/protocol/jsonrpc.js";

const BIG = 3 * 1024 * 1024;

// The child writes its output in deliberately awkward pieces, waiting for each write to drain.
const CHILD = `
const big = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { text: "x".repeat(${BIG}) } }) + "\\n";
const two = JSON.stringify({ jsonrpc: "2.0", id: 2, result: {} }) + "\\n" + JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { n: 3 } }) + "\\n";
const split = JSON.stringify({ jsonrpc: "2.0", id: 4, result: { ok: true } });
const pieces = [];
for (let i = 0; i < big.length; i += 7919) pieces.push(big.slice(i, i + 7919));
pieces.push(two, split, "\\n");
const next = () => {
  const p = pieces.shift();
  if (p === undefined) return;
  if (process.stdout.write(p)) setImmediate(next);
  else process.stdout.once("drain", next);
};
next();
process.stdin.resume();
`;

describe("StdioUpstreamTransport framing", () => {
  it("delivers a multi-MB line sent in small chunks, packed lines and a line split at its newline", async () => {
    const t = new StdioUpstreamTransport({ command: process.execPath, args: ["-e", CHILD], name: "framing" });
    const got: JsonRpcMessage[] = [];
    const errors: Error[] = [];
    const done = new Promise<void>((resolve) => {
      t.onmessage = (m) => {
        got.push(m);
        if ((m as { id?: unknown }).id === 4) resolve();
      };
    });
    t.onerror = (e) => errors.push(e);
    await t.start();
    try {
      await done;
      assert.deepEqual(
        got.map((m) => (m as { id?: unknown; method?: string }).id ?? (m as { method?: string }).method),
        [1, 2, "notifications/message", 4],
      );
      const big = got[0] as unknown as { result: { text: string } };
      assert.equal(big.result.text.length, BIG);
      assert.deepEqual((got[3] as unknown as { result: unknown }).result, { ok: true });
      assert.deepEqual(errors, []);
    } finally {
      await t.close();
    }
  });
});
