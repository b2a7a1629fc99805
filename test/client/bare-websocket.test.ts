// A gateway that only speaks bare `mcp` WebSocket frames (no seq, no resume):
// the client still works, and after a drop it treats the new socket as a new
// session, failing nothing silently and re-initializing transparently. The
// bare mode is forced by a WebSocket class that offers only `mcp`.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { WebSocketConstructor } from "../../src/client/index.js";
import { connectClient, nextEvent } from "./helpers/harness.js";
import { useProxiedGateway } from "./helpers/proxied-gateway.js";

/** ws, offering only the bare subprotocol whatever the client asks. */
class BareOnlyWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, ["mcp"]);
  }
}

const env = useProxiedGateway();

test("bare mcp frames: works, and a drop becomes a transparent new session", async () => {
  const { client, transport, numbers } = await connectClient({
    url: env.proxy.url,
    clientId: "bare-ws",
    transports: ["websocket"],
    WebSocket: BareOnlyWebSocket as unknown as WebSocketConstructor,
  });
  try {
    assert.equal(transport.gatewaySessionId, undefined, "bare mode has no session id to resume");
    await client.callTool({ name: "stream_updates", arguments: { count: 200 } });
    await numbers.until(200);
    const lost = nextEvent(transport, "session_lost");
    env.proxy.destroyAll();
    const info = (await lost) as { reinitializing: boolean };
    assert.equal(info.reinitializing, true);
    const echo = (await client.callTool({ name: "echo", arguments: { text: "bare again" } })) as { content: Array<{ text: string }> };
    assert.equal(echo.content[0]!.text, "bare again");
    // The subscription was restored on the new session.
    await client.callTool({ name: "stream_updates", arguments: { count: 200, start: 201 } });
    await numbers.until(400);
    assert.equal(numbers.outOfOrder, 0);
    assert.equal(numbers.duplicates, 0);
  } finally {
    await client.close();
  }
});
