// Issue 11 item 20: a WebSocket frame announcing a 2^63 length closed with 1009 instead of
// the documented 1008; Phoenix backpressure_dropped closed the channel but left the socket;
// a `null` body POSTed to /mcp/messages answered 500 TypeError.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomBytes } from "node:crypto";
import type { Gateway } from "../../src/gateway.js";
import { GatewayError, toClose } from "../../src/errors/index.js";
import { startTestGateway } from "../helpers/gateway.js";
import { FrameSocket, trapCrashes } from "../helpers/edge.js";

let gateway: Gateway;
let url: string;
let port: number;
const trap = trapCrashes();

before(async () => {
  const s = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [] });
  gateway = s.gateway;
  url = s.url;
  port = s.port;
});
after(async () => {
  await gateway?.close();
  trap.dispose();
});

/** Upgrades a raw TCP socket to WebSocket on /mcp/ws, writes `frame`, resolves with the close code the server sends. */
function closeCodeFor(frame: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(
        `GET /mcp/ws?client_id=raw HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Protocol: mcp\r\n\r\n`,
      );
    });
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        assert.match(buffer.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
        buffer = buffer.subarray(end + 4);
        upgraded = true;
        socket.write(frame);
      }
      // Server frames are unmasked: [0x88, len, code_hi, code_lo, ...reason]
      const at = buffer.indexOf(0x88);
      if (at >= 0 && buffer.length >= at + 4) {
        resolve(buffer.readUInt16BE(at + 2));
        socket.destroy();
      }
    });
  });
}

test("item 20: a frame announcing a 2^63-byte payload closes with 1008 (policy), like any oversize frame", async () => {
  const header = Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(await closeCodeFor(Buffer.concat([header, randomBytes(4)])), 1008);
  // An ordinary oversize frame (above websocket.max_frame_size) keeps its 1008 too.
  const big = Buffer.alloc(10);
  big[0] = 0x81;
  big[1] = 0xff;
  big.writeBigUInt64BE(1_000_000n, 2);
  assert.equal(await closeCodeFor(Buffer.concat([big, randomBytes(4)])), 1008);
  trap.assertNone();
});

test("item 20: a `null` body POSTed to /mcp/messages gets 400 invalid_request (-32600), not 500", async () => {
  const res = await fetch(`${url}/mcp/sse?client_id=null-body`, { headers: { accept: "text/event-stream" } });
  const reader = res.body!.getReader();
  let text = "";
  while (!text.includes("event: endpoint")) text += new TextDecoder().decode((await reader.read()).value);
  const endpoint = /event: endpoint\ndata: (.*)\n/.exec(text)![1]!;
  for (const body of ["null", "123", '"x"', "true"]) {
    const post = await fetch(url + endpoint, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal(post.status, 400, body);
    const answer = (await post.json()) as { error: { code: number; data: { error: string } } };
    assert.equal(answer.error.code, -32600);
    assert.equal(answer.error.data.error, "invalid_request");
  }
  await reader.cancel();
  trap.assertNone();
});

test("item 20: backpressure_dropped on a Phoenix channel closes the socket (1013), not only the channel", async () => {
  const s = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws/websocket?vsn=2.0.0&client_id=slow-phx`);
  s.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  await s.next((f) => Array.isArray(f) && f[1] === "1");
  // What BackpressureController does to a client that cannot take a critical message.
  const session = gateway.registry.byClient("slow-phx")[0]!;
  const { code, reason } = toClose(new GatewayError("backpressure_dropped"));
  session.sink!.close(code, reason);
  const closed = await s.whenClosed();
  assert.equal(closed.code, 1013);
  assert.match(closed.reason, /backpressure_dropped/);
  trap.assertNone();
});
