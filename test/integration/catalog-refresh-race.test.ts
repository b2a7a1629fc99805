/**
 * Catalog refreshes against real SDK servers: start-up races with
 * `list_changed` (issue 18 item 1), clients hearing `list_changed` after a
 * refresh, failed refreshes keeping the last good lists.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";

const LIST_RACE = fileURLToPath(new URL("../fixtures/list-race-server.ts", import.meta.url));
const raceUpstream = (name = "race") => ({ name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", LIST_RACE] });

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "catalog-race", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

test("server-everything over stdio: prompts, resources and templates survive its list_changed burst at start", async () => {
  const { gateway, url } = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [everythingUpstream()] });
  const client = await connect(url);
  try {
    // Whatever refresh its start-up burst queued has run once this resolves (refreshes of one upstream coalesce).
    await gateway.catalog.refresh(gateway.manager.groups.get("everything")!, ["tools"]);
    assert.ok((await client.listTools()).tools.some((t) => t.name === "echo"));
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes("simple-prompt"), `prompts: ${prompts.join(", ")}`);
    assert.ok((await client.listResources()).resources.length > 0, "resources listed");
    assert.ok((await client.listResourceTemplates()).resourceTemplates.length > 0, "resource templates listed");
    const prompt = await client.getPrompt({ name: "simple-prompt" });
    assert.ok(prompt.messages.length > 0);
  } finally {
    await client.close();
    await gateway.close();
  }
});

test("a list_changed during the start-up refresh never loses the kinds it did not refresh", async () => {
  const { gateway, url } = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [raceUpstream()] });
  const client = await connect(url);
  try {
    await gateway.catalog.refresh(gateway.manager.groups.get("race")!, ["tools"]);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ["add_tool", "echo", "fail_lists"]);
    assert.deepEqual((await client.listPrompts()).prompts.map((p) => p.name), ["simple-prompt"]);
    assert.deepEqual((await client.listResources()).resources.map((r) => r.uri), ["race://static/1"]);
    assert.deepEqual((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate), ["race://dynamic/{id}"]);
    const prompt = await client.getPrompt({ name: "simple-prompt" });
    assert.match(JSON.stringify(prompt.messages), /hello from list-race/);
  } finally {
    await client.close();
    await gateway.close();
  }
});

test("an upstream's list_changed reaches clients, and the new tool is listed and callable", async () => {
  const { gateway, url } = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [raceUpstream()] });
  const client = await connect(url);
  let heard = 0;
  let notified!: () => void;
  const changed = new Promise<void>((resolve) => (notified = resolve));
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    heard++;
    notified();
  });
  try {
    await gateway.catalog.refresh(gateway.manager.groups.get("race")!, ["tools"]);
    await client.callTool({ name: "add_tool", arguments: { name: "added_later" } });
    await changed;
    assert.ok((await client.listTools()).tools.some((t) => t.name === "added_later"));
    assert.equal(heard, 1, "one list_changed for one change");
    const r = await client.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.match(JSON.stringify(r.content), /still here/);
  } finally {
    await client.close();
    await gateway.close();
  }
});

test("refreshes that fail keep the last good lists of every kind", async () => {
  const { gateway, url } = await startTestGateway({ rate_limiting: { enabled: false }, upstreams: [raceUpstream()] });
  const client = await connect(url);
  try {
    const group = gateway.manager.groups.get("race")!;
    await gateway.catalog.refresh(group, ["tools"]);
    await client.callTool({ name: "fail_lists", arguments: {} });
    // The refreshes its list_changed notifications queued, plus this one, all fail upstream.
    await gateway.catalog.refresh(group);
    assert.equal((await client.listTools()).tools.length, 3);
    assert.equal((await client.listPrompts()).prompts.length, 1);
    assert.equal((await client.listResources()).resources.length, 1);
    assert.equal((await client.listResourceTemplates()).resourceTemplates.length, 1);
  } finally {
    await client.close();
    await gateway.close();
  }
});
