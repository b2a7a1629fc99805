// Client SDK against a real gateway with sockets destroyed mid-stream (a TCP
// proxy cuts both sides, no close handshake), on each transport. A stream of
// 10,000 numbered notifications must arrive complete and in order; calls in
// flight complete or fail with a clear error.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { TransportKind } from "../../src/client/index.js";
import { connectClient, nextEvent } from "./helpers/harness.js";
import { useProxiedGateway, settle } from "./helpers/proxied-gateway.js";

const TOTAL = 10_000;

const env = useProxiedGateway();

for (const kind of ["websocket", "http_sse", "streamable_http"] as TransportKind[]) {
  describe(`${kind}: sockets destroyed mid-stream`, () => {
    test(`${TOTAL} numbered notifications arrive complete and in order`, async () => {
      const { client, transport, numbers } = await connectClient({ url: env.proxy.url, clientId: `faults-${kind}`, transports: [kind] });
      const reconnects: string[] = [];
      transport.on("reconnecting", (e) => reconnects.push(e.reason));
      try {
        const stream = settle(client.callTool({ name: "stream_updates", arguments: { count: TOTAL, chunk: 50, pause_ms: 10 } }, undefined, { timeout: 60_000 }));
        const cuts: number[] = [];
        for (const at of [1500, 4000, 6500, 9000]) {
          await numbers.until(at);
          // A call in flight when the connection dies.
          const slow = settle(client.callTool({ name: "slow", arguments: { ms: 50 } }, undefined, { timeout: 30_000 }));
          assert.equal(transport.state, "open");
          const reopened = nextEvent(transport, "open");
          cuts.push(env.proxy.destroyAll());
          const open = (await reopened) as { resumed: boolean; sessionId?: string };
          assert.ok(open.resumed, "the same session was resumed");
          const r = await slow;
          if (r.ok) assert.equal(r.text, "slept 50");
        }
        await numbers.until(TOTAL, 30_000);
        const result = await stream;
        if (result.ok) assert.equal(result.text, `sent ${TOTAL}`);
        assert.equal(numbers.received, TOTAL, "every notification arrived");
        assert.equal(numbers.duplicates, 0, "no duplicates");
        assert.equal(numbers.outOfOrder, 0, "in order");
        assert.ok(cuts.every((n) => n > 0), "the proxy really cut connections");
        assert.ok(reconnects.length >= cuts.length, `reconnected after each cut (${reconnects.length})`);
        // Calls work after all that.
        const echo = (await client.callTool({ name: "echo", arguments: { text: "still here" } })) as { content: Array<{ text: string }> };
        assert.equal(echo.content[0]!.text, "still here");
      } finally {
        await client.close();
      }
    });
  });
}

