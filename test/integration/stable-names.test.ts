/**
 * Names are a function of configuration, not of health (issue 18 item 4,
 * issue 11 item 18): with `prefix: conditional` and two upstreams whose tool
 * names collide, one going down (its stdio child in a restart backoff longer
 * than checkout_timeout) hides its tools with one `list_changed`, renames
 * nothing, and calls to its tools answer `upstream_unavailable`; coming back
 * shows them again with one more `list_changed`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { StdioUpstreamTransport } from "../../src/upstream/transports/stdio.js";
import { startTestGateway } from "../helpers/gateway.js";

const LIST_RACE = fileURLToPath(new URL("../fixtures/list-race-server.ts", import.meta.url));
const upstream = (name: string) => ({ name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", LIST_RACE] });

test("a down upstream's tools disappear and reappear with one list_changed each, and no name changes", async () => {
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    routing: { prefix: "conditional" },
    pool: { checkout_timeout: 300 },
    upstreams: [upstream("a"), upstream("b")],
  });
  const client = new Client({ name: "cached-lists", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  const notices: Array<() => void> = [];
  let heard = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    heard++;
    notices.shift()?.();
  });
  const nextNotice = () => new Promise<void>((resolve) => notices.push(resolve));
  try {
    const names = async () => (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(await names(), ["a__add_tool", "a__echo", "a__fail_lists", "b__add_tool", "b__echo", "b__fail_lists"]);

    const b = gateway.manager.groups.get("b")!.replicas[0]!;
    // Its child stays down far longer than checkout_timeout (the backoff of a crash-looping child).
    b.backoff.baseMs = 60_000;
    const hidden = nextNotice();
    process.kill((b.connection!.transport as StdioUpstreamTransport).pid!, "SIGKILL");
    await hidden;
    assert.deepEqual(await names(), ["a__add_tool", "a__echo", "a__fail_lists"], "a's tools keep their names");
    const ok = await client.callTool({ name: "a__echo", arguments: { message: "a is up" } });
    assert.match(JSON.stringify(ok.content), /a is up/);
    await assert.rejects(client.callTool({ name: "b__echo", arguments: { message: "b?" } }), (err: Error & { code?: number; data?: { error?: string } }) => {
      assert.equal(err.code, -32016, err.message);
      assert.equal(err.data?.error, "upstream_unavailable");
      return true;
    });
    assert.equal(heard, 1, "one list_changed when it went down");

    const shown = nextNotice();
    b.backoff.baseMs = 250;
    await b.restart();
    await shown;
    assert.deepEqual(await names(), ["a__add_tool", "a__echo", "a__fail_lists", "b__add_tool", "b__echo", "b__fail_lists"]);
    const back = await client.callTool({ name: "b__echo", arguments: { message: "b is back" } });
    assert.match(JSON.stringify(back.content), /b is back/);
    assert.equal(heard, 2, "one list_changed when it came back");
  } finally {
    await client.close();
    await gateway.close();
  }
});
