// Issue 11 item 9: token-less Phoenix sockets used to be held forever and fill
// server.max_connections. Now a socket that has not joined within websocket.join_timeout
// is closed (1008), and sockets whose upgrade failed authentication have their own cap
// (websocket.max_unauthenticated_sockets): past it they are refused before the handshake,
// while authenticated clients still get in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "../helpers/gateway.js";
import { FrameSocket, initialize, trapCrashes } from "../helpers/edge.js";

const KEY = "phoenix-key-0123456789";
const CAP = 3;
let gateway: Gateway;
let phx: string;
const trap = trapCrashes();

before(async () => {
  const sha256 = createHash("sha256").update(KEY).digest("hex");
  const s = await startTestGateway({
    rate_limiting: { enabled: false },
    websocket: { join_timeout: 400, max_unauthenticated_sockets: CAP },
    auth: { mode: "api_key", api_keys: [{ sha256, client_id: "phx-good" }] },
    upstreams: [],
  });
  gateway = s.gateway;
  phx = `${s.url.replace(/^http/, "ws")}/mcp/ws/websocket?vsn=2.0.0`;
});
after(async () => {
  await gateway?.close();
  trap.dispose();
});

test("item 9: unauthenticated Phoenix sockets have their own cap; valid clients still join; unjoined sockets are closed at the deadline", async () => {
  const tokenless = await Promise.all(Array.from({ length: CAP }, () => FrameSocket.open(phx)));
  // One more token-less socket: refused with its auth error before the handshake (holds no slot).
  await assert.rejects(FrameSocket.open(phx), (e: { status?: number }) => e.status === 401);
  // A client with a valid token is not affected by the cap.
  const good = await FrameSocket.open(`${phx}&token=${KEY}`);
  good.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  assert.equal((await good.next((f) => Array.isArray(f) && f[1] === "1")).at(4).status, "ok");
  good.send(JSON.stringify(["1", "2", "mcp:gateway", "message", initialize(1)]));
  const answer = await good.next((f) => Array.isArray(f) && f[3] === "message" && f[4]?.message?.id === 1);
  assert.equal(answer[4].message.result.serverInfo.name, "mcp-gateway");
  // A token-less join is answered with the guide's error; the socket is then closed at the deadline.
  tokenless[0]!.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  assert.equal((await tokenless[0]!.next((f) => Array.isArray(f) && f[1] === "1")).at(4).response.error, "authentication_failed");
  for (const s of tokenless) {
    const closed = await s.whenClosed();
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /request_timeout/);
  }
  assert.equal(good.closed, undefined, "the joined client stays");
  // The slots are free again.
  const again = await FrameSocket.open(phx);
  await again.close();
  await good.close();
  trap.assertNone();
});

test("item 9: an authenticated socket that never joins, or leaves and stays, is closed at the deadline too", async () => {
  const idle = await FrameSocket.open(`${phx}&token=${KEY}`);
  assert.equal((await idle.whenClosed()).code, 1008);
  const leaver = await FrameSocket.open(`${phx}&token=${KEY}`);
  leaver.send(JSON.stringify(["1", "1", "mcp:gateway", "phx_join", {}]));
  await leaver.next((f) => Array.isArray(f) && f[1] === "1");
  leaver.send(JSON.stringify(["1", "2", "mcp:gateway", "phx_leave", {}]));
  await leaver.next((f) => Array.isArray(f) && f[1] === "2");
  assert.equal((await leaver.whenClosed()).code, 1008);
  trap.assertNone();
});
