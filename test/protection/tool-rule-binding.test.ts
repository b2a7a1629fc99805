/**
 * Issue 11 item 13: a rule on `echo` stopped matching once a second upstream
 * exposed a tool of the same name and conditional prefixing renamed both
 * (`a__echo`, `b__echo`): the protected tool became listable and callable
 * without the scope. Rules now bind to `upstream` + `tool`, and the old form
 * still protects the tool under its other names (where it can only refuse).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { validateConfig } from "../../src/config/index.js";
import { createToolFilter } from "../../src/middleware/auth/tool-rules.js";
import { Session } from "../../src/session/session.js";

const KEYS = { plain: "key-plain-0123456789", holder: "key-holder-0123456789" };
const sha = (k: string) => createHash("sha256").update(k).digest("hex");

async function connect(url: string, key: string): Promise<Client> {
  const client = new Client({ name: "rules", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

async function names(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

describe("tool rules survive a rename by conditional prefixing (two upstreams expose echo)", () => {
  for (const [label, rule] of [
    ["old form `tool: echo`", { tool: "echo", allow_scopes: ["echo"] }],
    ["bound form `upstream: a, tool: echo`", { upstream: "a", tool: "echo", allow_scopes: ["echo"] }],
  ] as const) {
    test(label, async () => {
      const { gateway, url } = await startTestGateway({
        upstreams: [everythingUpstream("a"), everythingUpstream("b")],
        routing: { prefix: "conditional" },
        rate_limiting: { enabled: false },
        auth: { mode: "api_key", api_keys: [{ sha256: sha(KEYS.plain), client_id: "plain" }, { sha256: sha(KEYS.holder), client_id: "holder", scopes: ["echo"] }], tool_rules: [rule] },
      });
      const clients: Client[] = [];
      try {
        const plain = await connect(url, KEYS.plain);
        const holder = await connect(url, KEYS.holder);
        clients.push(plain, holder);
        const all = await names(holder);
        assert.ok(all.includes("a__echo") && all.includes("b__echo"), `renamed: ${all.filter((n) => n.endsWith("echo"))}`);
        const visible = await names(plain);
        assert.ok(!visible.includes("a__echo"), "a's echo is hidden from a client without the scope");
        const call = await plain.callTool({ name: "a__echo", arguments: { message: "hi" } }).catch((e: Error) => e);
        assert.ok(call instanceof Error && /Unknown tool/.test(call.message), `call refused: ${call instanceof Error ? call.message : JSON.stringify(call)}`);
        const ok = (await holder.callTool({ name: "a__echo", arguments: { message: "hi" } })) as { content: Array<{ text: string }> };
        assert.match(ok.content[0]!.text, /hi/);
        if ("upstream" in rule) assert.ok(visible.includes("b__echo"), "the bound rule leaves b's echo alone");
        else assert.ok(!visible.includes("b__echo"), "the old form protects every tool it names, fail closed");
      } finally {
        for (const c of clients) await c.close().catch(() => {});
        await gateway.close();
      }
    });
  }
});

describe("rule semantics", () => {
  const session = (scopes: string[]) => {
    const s = new Session("s", "c", "websocket", { size: 10, bytes: 1000 });
    s.identity = { clientId: "c", scopes };
    return s;
  };
  const filterOf = (auth: Record<string, unknown>) => createToolFilter(validateConfig({ auth, upstreams: [everythingUpstream("a"), everythingUpstream("b")], logging: { dir: "" } }).auth)!;

  test("an alias match refuses but never grants: a later restricting rule still applies", () => {
    const f = filterOf({ tool_rules: [{ tool: "echo", allow_scopes: ["x"] }, { tool: "b__*", allow_scopes: ["admin"] }] });
    const b = { upstream: "b", name: "echo" };
    assert.equal(f(session([]), "b__echo", b), false);
    assert.equal(f(session(["x"]), "b__echo", b), false, "x alone does not open b's echo");
    assert.equal(f(session(["x", "admin"]), "b__echo", b), true);
    // The exposed name is still an exact match: unchanged behaviour when nothing is renamed.
    assert.equal(f(session(["x"]), "echo", { upstream: "a", name: "echo" }), true);
  });

  test("an upstream-bound rule ignores the exposed name entirely", () => {
    const f = filterOf({ tool_rules: [{ upstream: "a", tool: "echo", deny_scopes: ["ro"] }] });
    assert.equal(f(session(["ro"]), "whatever_it_is_called", { upstream: "a", name: "echo" }), false);
    assert.equal(f(session(["ro"]), "echo", { upstream: "b", name: "echo" }), true);
  });

  test("a rule naming an unknown upstream is a config error", () => {
    assert.throws(() => validateConfig({ auth: { tool_rules: [{ upstream: "nope", tool: "x" }] }, upstreams: [everythingUpstream("a")] }), /no upstream named "nope"/);
  });
});
