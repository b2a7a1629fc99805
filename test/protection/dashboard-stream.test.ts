/**
 * Issue 11 item 11: every /dashboard/stream request used to add a `close`
 * listener to the HTTP server that was never removed (MaxListenersExceeded
 * after 11, memory growing with every page load).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway } from "../helpers/gateway.js";

test("opening and closing /dashboard/stream leaves no listener on the server", async () => {
  const { gateway, url } = await startTestGateway({ upstreams: [] });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const baseline = gateway.server.listenerCount("close");
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const res = await fetch(`${url}/dashboard/stream`, { signal: controller.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.length > 0);
      controller.abort();
      await reader.cancel().catch(() => {});
    }
    assert.ok(gateway.server.listenerCount("close") <= baseline, `server close listeners grew from ${baseline} to ${gateway.server.listenerCount("close")}`);
    assert.deepEqual(warnings.filter((w) => w.name === "MaxListenersExceededWarning"), []);
  } finally {
    process.off("warning", onWarning);
    await gateway.close();
  }
});
