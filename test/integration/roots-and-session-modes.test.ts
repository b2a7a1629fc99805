/**
 * Roots through the gateway and `session_mode` (issue 18 items 3 and 6),
 * against the real server-everything and SDK v1 servers and clients:
 * per_client upstream sessions see their own client's roots (also after
 * `roots/list_changed`), shared sessions see the caller's roots during a call
 * and a clear refusal outside calls, and never hear a `listChanged` the
 * gateway could not honour. Per-client sessions are capped and time out idle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";

/** An SDK client that declares roots and answers roots/list with `roots()` (mutable). */
async function rootsClient(url: string, name: string, roots: () => Array<{ uri: string; name: string }>): Promise<Client> {
  const client = new Client({ name, version: "1" }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: roots() }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

const text = (r: { content?: unknown }) => JSON.stringify(r.content);

test("session_mode per_client: server-everything's get-roots-list shows each client its own roots, also after roots/list_changed", async () => {
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [everythingUpstream("everything", { session_mode: "per_client", per_client: { max_sessions: 4, idle_timeout: 600_000 } })],
  });
  let aliceRoots = [{ uri: "file:///home/alice/project", name: "alice-project" }];
  const alice = await rootsClient(url, "alice", () => aliceRoots);
  const bob = await rootsClient(url, "bob", () => [{ uri: "file:///home/bob/work", name: "bob-work" }]);
  try {
    const [a, b] = await Promise.all([alice.callTool({ name: "get-roots-list", arguments: {} }), bob.callTool({ name: "get-roots-list", arguments: {} })]);
    assert.match(text(a), /file:\/\/\/home\/alice\/project/);
    assert.doesNotMatch(text(a), /bob/);
    assert.match(text(b), /file:\/\/\/home\/bob\/work/);
    assert.doesNotMatch(text(b), /alice/);
    assert.equal(gateway.relay.clientSessions.count("everything"), 2, "one upstream session per client");

    aliceRoots = [{ uri: "file:///home/alice/other", name: "alice-other" }];
    await alice.sendRootsListChanged();
    // server-everything re-asks in the background; bounded: a few calls at most.
    let seen = "";
    for (let i = 0; i < 50 && !seen.includes("alice/other"); i++) seen = text(await alice.callTool({ name: "get-roots-list", arguments: {} }));
    assert.match(seen, /file:\/\/\/home\/alice\/other/);
    assert.match(text(await bob.callTool({ name: "get-roots-list", arguments: {} })), /bob\/work/, "bob's session is untouched");

    const closed = new Promise<string>((resolve) =>
      gateway.relay.clientSessions.on("closed", (upstream: string, _owner: string, reason: string) => upstream === "everything" && resolve(reason)),
    );
    // DELETE ends the client's gateway session, and with it its upstream session.
    await (bob.transport as StreamableHTTPClientTransport).terminateSession();
    assert.equal(await closed, "client_ended");
    assert.equal(gateway.relay.clientSessions.count("everything"), 1);
  } finally {
    await alice.close();
    await bob.close();
    await gateway.close();
  }
});

const ROOTS_PROBE = fileURLToPath(new URL("../fixtures/roots-probe-server.ts", import.meta.url));

test("session_mode shared: the caller's roots during a call, a clear refusal outside calls, no roots.listChanged announced", async () => {
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [{ name: "probe", transport: "stdio", command: process.execPath, args: ["--import", "tsx", ROOTS_PROBE] }],
  });
  const alice = await rootsClient(url, "alice", () => [{ uri: "file:///alice", name: "a" }]);
  const bob = await rootsClient(url, "bob", () => [{ uri: "file:///bob", name: "b" }]);
  try {
    const [a, b] = await Promise.all([alice.callTool({ name: "my_roots", arguments: {} }), bob.callTool({ name: "my_roots", arguments: {} })]);
    assert.match(text(a), /file:\/\/\/alice/);
    assert.doesNotMatch(text(a), /bob/);
    assert.match(text(b), /file:\/\/\/bob/);
    const declared = JSON.parse(JSON.parse(text(await alice.callTool({ name: "declared", arguments: {} })))[0].text);
    assert.deepEqual(declared.roots, {}, "roots declared without listChanged");
    assert.match(text(await alice.callTool({ name: "outside_roots", arguments: {} })), /refused: .*roots\/list outside a client's call.*session_mode: shared/);
  } finally {
    await alice.close();
    await bob.close();
    await gateway.close();
  }
});

const LIST_RACE = fileURLToPath(new URL("../fixtures/list-race-server.ts", import.meta.url));

test("per_client sessions are capped (the least recently used idle one makes room) and close when idle", async () => {
  const { gateway, url } = await startTestGateway({
    rate_limiting: { enabled: false },
    upstreams: [{ name: "own", transport: "stdio", command: process.execPath, args: ["--import", "tsx", LIST_RACE], session_mode: "per_client", per_client: { max_sessions: 1, idle_timeout: 400 } }],
  });
  const sessions = gateway.relay.clientSessions;
  const first = new Client({ name: "first", version: "1" });
  const second = new Client({ name: "second", version: "1" });
  await first.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  await second.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  try {
    assert.match(text(await first.callTool({ name: "echo", arguments: { message: "one" } })), /echo: one/);
    assert.equal(sessions.count("own"), 1);
    const evicted = once(sessions, "closed");
    assert.match(text(await second.callTool({ name: "echo", arguments: { message: "two" } })), /echo: two/);
    assert.equal((await evicted)[2], "evicted");
    assert.equal(sessions.count("own"), 1, "never more than max_sessions");
    const idle = once(sessions, "closed");
    assert.equal((await idle)[2], "idle");
    assert.equal(sessions.count("own"), 0);
    // A closed session is reopened on the next call.
    assert.match(text(await first.callTool({ name: "echo", arguments: { message: "again" } })), /echo: again/);
  } finally {
    await first.close();
    await second.close();
    await gateway.close();
  }
});
