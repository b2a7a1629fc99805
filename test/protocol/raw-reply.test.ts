/** Large replies relayed as text (ADR 0211): which lines qualify, the id swap, and the lazy parse. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RAW_MIN_CHARS, partsBuffer, partsText, rawReply, rawParts } from "../../src/protocol/raw-reply.js";

const big = "é😀\"\\".repeat(RAW_MIN_CHARS / 4);
/** `text` cut into pieces the way the stdio transport's decoder delivers it: ~64 KiB, never inside a surrogate pair. */
function pieces(text: string, size = 65536): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + size);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}

for (const [shape, line] of [
  ["SDK order (id last)", JSON.stringify({ result: { content: [{ type: "text", text: big }] }, jsonrpc: "2.0", id: 41 })],
  ["id first", JSON.stringify({ jsonrpc: "2.0", id: 41, result: { content: [{ type: "text", text: big }] } })],
] as const) {
  test(`${shape}: the id is swapped textually and the text is otherwise untouched`, () => {
    const reply = rawReply(pieces(line))!;
    assert.ok(reply, "a large reply of this shape is held as text");
    assert.equal(reply.id, 41);
    reply.id = "client-7";
    const parts = rawParts(reply)!;
    assert.ok(parts.length > 1, "written in pieces");
    const expected = JSON.stringify({ ...JSON.parse(line), id: "client-7" });
    assert.deepEqual(JSON.parse(partsText(parts)), JSON.parse(expected));
    assert.deepEqual(JSON.parse(partsBuffer(parts, "[", "]").toString("utf8"))[0], JSON.parse(expected));
  });
}

test("a piece boundary inside the id's envelope is merged away", () => {
  const line = JSON.stringify({ result: { text: big }, jsonrpc: "2.0", id: 123456 });
  const cut = line.length - 10;
  const reply = rawReply([line.slice(0, cut), line.slice(cut)])!;
  reply.id = 9;
  assert.equal(JSON.parse(partsText(rawParts(reply)!)).id, 9);
});

test("touching result parses the text; the message is an ordinary one from then on", () => {
  const reply = rawReply(pieces(JSON.stringify({ result: { text: big }, jsonrpc: "2.0", id: 1 })))!;
  reply.id = 2;
  assert.equal((reply.result as { text: string }).text, big);
  (reply.result as { text: string }).text = "changed";
  assert.equal(rawParts(reply), undefined, "an ordinary message now");
  assert.deepEqual(JSON.parse(JSON.stringify(reply)), { jsonrpc: "2.0", id: 2, result: { text: "changed" } });
  assert.ok("result" in reply && !("error" in reply));
});

test("short lines, errors, other shapes and bare CRs are left to the parser", () => {
  assert.equal(rawReply([JSON.stringify({ result: {}, jsonrpc: "2.0", id: 1 })]), undefined, "short");
  assert.equal(rawReply(pieces(JSON.stringify({ error: { code: 1, message: big }, jsonrpc: "2.0", id: 1 }))), undefined, "an error");
  assert.equal(rawReply(pieces(JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { data: big } }))), undefined, "a notification");
  assert.equal(rawReply(pieces(JSON.stringify({ result: { text: big, inner: { id: 3 } }, jsonrpc: "2.0", x: 1 }))), undefined, "no top-level id at the end");
  assert.equal(rawReply(pieces(`{"result":{"text":"${"a".repeat(RAW_MIN_CHARS)}"},\r"jsonrpc":"2.0","id":1}`)), undefined, "a CR");
});
