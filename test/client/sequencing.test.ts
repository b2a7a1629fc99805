// MessageSequencer (reorder buffer, duplicates, gaps -> resume requests) and
// FlowController (maxPending, acks) of the client SDK.
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import { FlowController, MessageSequencer } from "../../src/client/index.js";

function sequencer(maxBuffer = 100, gapTimeoutMs = 2000) {
  const delivered: number[] = [];
  const resumes: Array<[number, number]> = [];
  const s = new MessageSequencer<string>(
    { deliver: (seq) => delivered.push(seq), requestResume: (from, to) => resumes.push([from, to]) },
    { maxBuffer, gapTimeoutMs },
  );
  return { s, delivered, resumes };
}

describe("MessageSequencer", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  test("delivers in order, holding early messages and dropping duplicates", () => {
    const { s, delivered } = sequencer();
    assert.equal(s.push(2, "b"), "kept");
    assert.equal(s.push(3, "c"), "kept");
    assert.deepEqual(delivered, []);
    assert.equal(s.push(1, "a"), "kept");
    assert.deepEqual(delivered, [1, 2, 3]);
    assert.equal(s.push(2, "b"), "duplicate");
    assert.equal(s.push(3, "c"), "duplicate");
    assert.equal(s.push(5, "e"), "kept");
    assert.equal(s.push(5, "e"), "duplicate");
    assert.equal(s.push(4, "d"), "kept");
    assert.deepEqual(delivered, [1, 2, 3, 4, 5]);
    assert.equal(s.delivered, 5);
  });

  test("a full buffer asks for a resume instead of dropping silently", () => {
    const { s, delivered, resumes } = sequencer(3);
    for (const seq of [3, 4, 5]) assert.equal(s.push(seq, "x"), "kept");
    assert.equal(s.push(6, "x"), "dropped", "no room: the caller must not count it received");
    assert.deepEqual(resumes, [[1, 2]]);
    assert.equal(s.push(7, "x"), "dropped");
    assert.equal(resumes.length, 1, "one resume request per hole");
    // The resume replays from 1.
    for (const seq of [1, 2, 3, 4, 5, 6, 7]) s.push(seq, "x");
    assert.deepEqual(delivered, [1, 2, 3, 4, 5, 6, 7]);
  });

  test("a hole left open for gapTimeoutMs asks for a resume", () => {
    const { s, resumes } = sequencer(100, 2000);
    s.push(1, "a");
    s.push(3, "c");
    mock.timers.tick(1999);
    assert.deepEqual(resumes, []);
    mock.timers.tick(1);
    assert.deepEqual(resumes, [[2, 2]]);
  });

  test("skipThrough releases what waited behind a hole the server cannot fill", () => {
    const { s, delivered } = sequencer();
    s.push(1, "a");
    s.push(5, "e");
    s.push(6, "f");
    assert.deepEqual(s.skipThrough(4), { from: 2, to: 4 });
    assert.deepEqual(delivered, [1, 5, 6]);
    assert.equal(s.skipThrough(3), null, "nothing left to skip");
  });

  test("priming slots (no message) advance the sequence", () => {
    const { s, delivered } = sequencer();
    s.push(2, "b");
    s.push(1, undefined);
    assert.deepEqual(delivered, [1, 2]);
  });
});

describe("FlowController", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  function flow(maxPending = 3, ackEvery = 2) {
    const handled: number[] = [];
    const acks: number[] = [];
    const f = new FlowController<string>({ handle: (seq) => handled.push(seq), ack: (seq) => acks.push(seq) }, { maxPending, ackEvery, ackDelayMs: 25 });
    return { f, handled, acks };
  }

  test("at most maxPending unacknowledged messages in the application's hands; the rest wait", () => {
    const { f, handled } = flow(3);
    for (let seq = 1; seq <= 6; seq++) f.offer(seq, "m");
    assert.deepEqual(handled, [1, 2, 3]);
    assert.equal(f.pending, 3);
    assert.equal(f.queued, 3);
    f.done(2);
    assert.deepEqual(handled, [1, 2, 3, 4], "one finished, one more handed out");
    assert.equal(f.pending, 3);
  });

  test("acks the contiguous finished prefix, coalesced", () => {
    const { f, acks } = flow(10, 2);
    for (let seq = 1; seq <= 4; seq++) f.offer(seq, "m");
    f.done(2);
    assert.deepEqual(acks, [], "1 is still in hand: nothing to ack");
    f.done(1);
    assert.deepEqual(acks, [2], "1 and 2 finished: ack 2 (ackEvery reached)");
    f.done(3);
    assert.deepEqual(acks, [2], "one more: wait for the delay");
    mock.timers.tick(25);
    assert.deepEqual(acks, [2, 3]);
    f.done(4);
    f.flush();
    assert.deepEqual(acks, [2, 3, 4]);
    assert.equal(f.acked, 4);
  });

  test("unnumbered messages pass through in order and are never acked", () => {
    const { f, handled, acks } = flow(1, 1);
    f.offer(1, "m");
    f.offer(0, "answer");
    assert.deepEqual(handled, [1], "waits behind the message in hand");
    f.done(1);
    assert.deepEqual(handled, [1, 0]);
    assert.deepEqual(acks, [1]);
  });
});
