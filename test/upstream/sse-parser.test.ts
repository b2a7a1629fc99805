import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LONG_LINE, SseParser, type SseEvent } from "../../src/upstream/transports/sse-parser.js";

/** Feeds every chunk and collects all events. */
function run(parser: SseParser, chunks: string[]): SseEvent[] {
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...parser.feed(c));
  return out;
}

/** Only the fields that are set, for readable assertions. */
function clean(events: SseEvent[]): Array<Partial<SseEvent>> {
  return events.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
}

describe("SseParser", () => {
  it("parses a simple event", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["data: hello\n\n"])), [{ data: "hello" }]);
  });

  it("reads event, id and retry fields and keeps lastEventId", () => {
    const p = new SseParser();
    const ev = run(p, ["event: message\nid: 42\nretry: 1500\ndata: {\"a\":1}\n\n"]);
    assert.deepEqual(clean(ev), [{ data: '{"a":1}', event: "message", id: "42", retry: 1500 }]);
    assert.equal(p.lastEventId, "42");
    assert.equal(p.retry, 1500);
    // The next event has no id of its own; lastEventId persists.
    assert.deepEqual(clean(run(p, ["data: x\n\n"])), [{ data: "x" }]);
    assert.equal(p.lastEventId, "42");
  });

  it("joins multi-line data with LF", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["data: a\ndata: b\ndata:\ndata:c\n\n"])), [{ data: "a\nb\n\nc" }]);
  });

  it("handles CRLF and lone CR line endings", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["data: one\r\n\r\ndata: two\r\rdata: three\n\n"])), [
      { data: "one" },
      { data: "two" },
      { data: "three" },
    ]);
  });

  it("handles a CRLF split between chunks", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["data: a\r", "\n\r", "\ndata: b\r\n\r\n"])), [{ data: "a" }, { data: "b" }]);
  });

  it("handles events split at every possible point", () => {
    const text = 'id: 7\r\nevent: message\r\ndata: {"jsonrpc":"2.0","id":1}\r\n\r\n: keepalive\n\ndata: second\n\n';
    const whole = clean(run(new SseParser(), [text]));
    assert.equal(whole.length, 2);
    for (let i = 1; i < text.length; i++) {
      assert.deepEqual(clean(run(new SseParser(), [text.slice(0, i), text.slice(i)])), whole, `split at ${i}`);
    }
    // One character at a time.
    assert.deepEqual(clean(run(new SseParser(), [...text])), whole);
  });

  it("ignores comments and unknown fields", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, [": ping\n\nfoo: bar\ndata: x\n\n:\n\n"])), [{ data: "x" }]);
  });

  it("does not dispatch events without data but remembers their id and retry", () => {
    const p = new SseParser();
    assert.deepEqual(run(p, ["id: prime-1\nretry: 10\n\n"]), []);
    assert.equal(p.lastEventId, "prime-1");
    assert.equal(p.retry, 10);
  });

  it("dispatches an empty data field as empty data (priming event)", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["id: p1\ndata: \n\n"])), [{ data: "", id: "p1" }]);
  });

  it("handles a field without a colon and a value without a space", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["data\n\ndata:x\n\n"])), [{ data: "" }, { data: "x" }]);
  });

  it("ignores invalid retry values and ids containing NUL", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["retry: 10ms\nid: a\0b\ndata: x\n\n"])), [{ data: "x" }]);
    assert.equal(p.retry, undefined);
    assert.equal(p.lastEventId, undefined);
  });

  it("strips a leading BOM, only at stream start", () => {
    const p = new SseParser();
    assert.deepEqual(clean(run(p, ["\uFEFFdata: a\n\n"])), [{ data: "a" }]);
  });

  it("joins a large line that arrives in many chunks", () => {
    const p = new SseParser();
    const big = "x".repeat(200_000);
    const chunks = ["data: "];
    for (let i = 0; i < big.length; i += 1000) chunks.push(big.slice(i, i + 1000));
    chunks.push("\n\n");
    const ev = run(p, chunks);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.data, big);
  });

  it("keeps a long single data line as the pieces it arrived in (CR LF split, next event in the same chunk)", () => {
    const p = new SseParser();
    const big = "é𝄞x".repeat(Math.ceil(LONG_LINE / 3) + 10);
    const chunks = [`event: message\nid: 7\ndata: ${big.slice(0, 5000)}`];
    for (let i = 5000; i < big.length; i += 65_536) chunks.push(big.slice(i, i + 65_536));
    chunks.push("\r", "\n\r\ndata: after\n\n");
    const ev = run(p, chunks);
    assert.equal(ev.length, 2);
    assert.ok(ev[0]!.parts !== undefined, "the long line is kept in pieces");
    assert.ok(ev[0]!.parts!.length > 1);
    assert.equal(ev[0]!.parts!.join(""), big);
    assert.equal(ev[0]!.data, big);
    assert.equal(ev[0]!.event, "message");
    assert.equal(ev[0]!.id, "7");
    assert.deepEqual(clean([ev[1]!]), [{ data: "after" }]);
    assert.equal(p.lastEventId, "7");
  });

  it("joins a long data line after all when its event has a second data line", () => {
    const p = new SseParser();
    const big = "y".repeat(LONG_LINE + 1);
    const ev = run(p, [`data: ${big.slice(0, 100)}`, big.slice(100), "\ndata: tail\n\n"]);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.parts, undefined);
    assert.equal(ev[0]!.data, `${big}\ntail`);
  });

  it("discards an unterminated event on reset but keeps lastEventId", () => {
    const p = new SseParser();
    run(p, ["id: 5\ndata: done\n\ndata: half"]);
    p.reset();
    assert.deepEqual(clean(run(p, ["data: fresh\n\n"])), [{ data: "fresh" }]);
    assert.equal(p.lastEventId, "5");
  });
});
