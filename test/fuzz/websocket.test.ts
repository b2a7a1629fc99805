// Seeded fuzz (issue 11) over the WebSocket client transports: /mcp/ws with the bare `mcp`
// subprotocol and the `mcp-gateway.v1` envelope, and Phoenix channels at /mcp/ws/websocket.
// After every frame a probe on the same socket must be answered (the frame was handled, the
// socket is alive) or the socket closed with a policy code (never 1011), the process is
// alive, and the well-behaved SDK client is still served correctly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertProperty, FC_PARAMS, hostileText, startFuzzTarget, within, type FuzzTarget } from "./helpers.js";
import { FrameSocket, initialize, rpcOf } from "../helpers/edge.js";

let target: FuzzTarget;
let wsBase: string;

before(async () => {
  target = await startFuzzTarget();
  wsBase = target.url.replace(/^http/, "ws");
});
after(() => target?.close());

/** Close codes the gateway may end a fuzzed socket with: normal, policy (1008: oversize, bad frame), try again later. */
const ALLOWED_CLOSES = new Set([1000, 1005, 1007, 1008, 1009, 1013]);

/** One frame as sent: text (mostly), binary, or oversize. */
const frame = fc.oneof(
  { weight: 8, arbitrary: hostileText.map((text) => ({ text, binary: false })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ text: Buffer.from(bytes).toString("latin1"), binary: true })) },
  { weight: 1, arbitrary: fc.integer({ min: 33, max: 64 }).map((kb) => ({ text: "x".repeat(kb * 1024), binary: false })) },
);

/** Envelope frames of every type, well- and ill-formed. */
const envelopeFrame = fc
  .record({ type: fc.constantFrom("message", "ack", "end", "welcome", "x", 1), seq: fc.oneof(fc.nat(), fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null)), message: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }), hostileText.map((t) => { try { return JSON.parse(t); } catch { return t; } })) }, { requiredKeys: ["type"] })
  .map((f) => ({ text: JSON.stringify(f), binary: false }));

for (const protocol of ["mcp", "mcp-gateway.v1"] as const) {
  test(`fuzz: /mcp/ws (${protocol}) with hostile frames`, async () => {
    let socket: FrameSocket | undefined;
    let probes = 0;
    const open = async () => {
      const s = await FrameSocket.open(`${wsBase}/mcp/ws?client_id=fuzz-${protocol}`, protocol);
      if (protocol === "mcp-gateway.v1") await within(s.next((f) => f?.type === "welcome", "welcome"), "welcome");
      return s;
    };
    const arb = protocol === "mcp" ? frame : fc.oneof({ weight: 3, arbitrary: frame }, { weight: 1, arbitrary: envelopeFrame });
    await assertProperty(
      fc.asyncProperty(arb, async (f) => {
        if (!socket || socket.closed) socket = await open();
        const s = socket;
        s.frames.length = 0;
        s.ws.send(f.binary ? Buffer.from(f.text, "latin1") : f.text, { binary: f.binary });
        const id = `probe#${++probes}#`;
        if (s.closed === undefined) s.send(JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }));
        const outcome = await within(
          Promise.race([s.next((m) => rpcOf(m)?.id === id, "probe").then(() => "answered" as const, () => "closed" as const), s.whenClosed().then(() => "closed" as const)]),
          `${protocol} frame ${f.text.slice(0, 80)}`,
        );
        if (outcome === "closed") assert.ok(ALLOWED_CLOSES.has(s.closed!.code), `closed ${s.closed!.code} ${s.closed!.reason} after ${f.text.slice(0, 80)}`);
        await target.check();
      }),
      FC_PARAMS,
    );
    if (!socket || socket.closed) socket = await open();
    // The fuzzed socket still does real work.
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: "final", method: "tools/call", params: { name: "test_simple_text", arguments: {} } }));
    const answer = rpcOf(await within(socket.next((m) => rpcOf(m)?.id === "final", "final call"), "final call"));
    assert.equal(answer.result.content[0].text, "This is a simple text response for testing.");
    await socket.close();
    await target.checkThoroughly();
  });
}

/** Phoenix frames: five-element arrays with every part possibly wrong, or anything else. */
const phoenixFrame = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.constant("1"), fc.constant(null), fc.integer(), fc.string({ maxLength: 4 })),
        fc.oneof(fc.nat().map(String), fc.constant(null)),
        fc.constantFrom("mcp:gateway", "mcp:gateway", "phoenix", "other", ""),
        fc.constantFrom("message", "message", "ack", "ping", "phx_join", "phx_leave", "heartbeat", "nope"),
        fc.oneof(hostileText.map((t) => { try { return JSON.parse(t); } catch { return t; } }), fc.jsonValue({ maxDepth: 3 }), fc.record({ session_id: fc.string({ maxLength: 20 }), last_seq: fc.integer() }), fc.record({ msg_id: fc.oneof(fc.integer(), fc.string()) })),
      )
      .map((t) => JSON.stringify(t)),
  },
  { weight: 1, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null") },
);

test("fuzz: Phoenix channels with hostile frames", async () => {
  let socket: FrameSocket | undefined;
  let probes = 0;
  const open = async () => {
    const s = await FrameSocket.open(`${wsBase}/mcp/ws/websocket?vsn=2.0.0&client_id=fuzz-phx`);
    s.send(JSON.stringify(["j", "j", "mcp:gateway", "phx_join", {}]));
    await within(s.next((f) => Array.isArray(f) && f[1] === "j", "join"), "join");
    return s;
  };
  await assertProperty(
    fc.asyncProperty(phoenixFrame, async (text) => {
      if (!socket || socket.closed) socket = await open();
      const s = socket;
      s.frames.length = 0;
      s.send(text);
      const ref = `hb#${++probes}#`;
      if (s.closed === undefined) s.send(JSON.stringify([null, ref, "phoenix", "heartbeat", {}]));
      const outcome = await within(
        Promise.race([s.next((f) => Array.isArray(f) && f[1] === ref, "heartbeat reply").then(() => "answered" as const, () => "closed" as const), s.whenClosed().then(() => "closed" as const)]),
        `phoenix frame ${text.slice(0, 80)}`,
      );
      if (outcome === "closed") assert.ok(ALLOWED_CLOSES.has(socket.closed!.code), `closed ${socket.closed!.code} after ${text.slice(0, 80)}`);
      await target.check();
    }),
    FC_PARAMS,
  );
  // Rejoin on the fuzzed socket (or a new one) and do real work on the channel.
  if (!socket || socket.closed) socket = await open();
  socket.send(JSON.stringify(["k", "k", "mcp:gateway", "phx_join", {}]));
  await within(socket.next((f) => Array.isArray(f) && f[1] === "k"), "rejoin");
  socket.send(JSON.stringify(["k", "m", "mcp:gateway", "message", initialize("final")]));
  const answer = await within(socket.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === "final"), "initialize");
  assert.equal(answer[4].message.result.serverInfo.name, "mcp-gateway");
  await socket.close();
  await target.checkThoroughly();
});
