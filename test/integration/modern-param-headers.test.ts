/**
 * SEP-2243 headers through the gateway to a modern Streamable HTTP upstream
 * (the SDK v2 fixture, a real child process), with raw HTTP so the headers
 * can lie: declared `Mcp-Param-*` headers are checked against the body
 * (-32020 when missing or different), undeclared ones are forwarded as they
 * came, `Mcp-Name` reaches the upstream rewritten to its own tool name, and
 * nothing the headers claim changes where a call goes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestGateway } from "../helpers/gateway.js";
import { v2Http, type HttpChild } from "./era-helpers.js";
import type { Gateway } from "../../src/gateway.js";

let gateway: Gateway;
let url: string;
let upstream: HttpChild;

before(async () => {
  upstream = await v2Http("modern");
  ({ gateway, url } = await startTestGateway({ routing: { prefix: "always" }, rate_limiting: { enabled: false }, upstreams: [{ name: "v2", transport: "streamable_http", url: upstream.url }] }));
  assert.ok(await gateway.manager.groups.get("v2")!.replicas[0]!.waitReady(60_000), "the v2 upstream is ready");
});
after(async () => {
  await gateway.close();
  await upstream.stop();
});

const META = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} };
const b64 = (s: string) => `=?base64?${Buffer.from(s, "utf8").toString("base64")}?=`;
let seq = 0;

/** One modern tools/call; `headers` are added to (and may contradict) the standard ones. */
async function call(name: string, args: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": name, ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++seq, method: "tools/call", params: { name, arguments: args, _meta: META } }),
  });
  const text = await res.text();
  const data = text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? text);
  return { status: res.status, body: JSON.parse(data) as { id: number; result?: { content?: Array<{ text: string }> }; error?: { code: number; message: string; data?: Record<string, unknown> } } };
}

test("a declared Mcp-Param header that agrees with the body passes; the upstream gets one built from the body", async () => {
  // Non-ASCII travels Base64-wrapped; the SDK v2 upstream validates its own copy of the header.
  const r = await call("v2__where", { region: "zürich" }, { "mcp-param-region": b64("zürich") });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result?.content?.[0]?.text, "region: zürich");
});

test("a declared Mcp-Param header that is missing or disagrees is refused with -32020 before anything runs", async () => {
  const lying = await call("v2__where", { region: "zürich" }, { "mcp-param-region": "paris" });
  assert.equal(lying.status, 400);
  assert.equal(lying.body.error?.code, -32020);
  assert.equal(lying.body.id, seq, "the error carries the request's id");
  assert.equal((lying.body.error?.data?.mismatch as { header?: string })?.header, "Mcp-Param-Region");
  const missing = await call("v2__where", { region: "bern" });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error?.code, -32020);
  assert.match(missing.body.error!.message, /Mcp-Param-Region header is absent/);
});

test("undeclared Mcp-Param headers are forwarded as they came; Mcp-Name reaches the upstream as its own tool name", async () => {
  const r = await call("v2__seen_headers", {}, { "mcp-param-tenant": "acme", "mcp-param-note": b64("grüße") });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const seen = JSON.parse(r.body.result!.content![0]!.text) as Record<string, string>;
  assert.deepEqual(seen, { "mcp-name": "seen_headers", "mcp-param-note": b64("grüße"), "mcp-param-tenant": "acme" });
});

test("headers that lie about the target change nothing: Mcp-Name must match the body, other headers are never read", async () => {
  const wrongName = await call("v2__where", { region: "oslo" }, { "mcp-name": "v2__echo", "mcp-param-region": "oslo" });
  assert.equal(wrongName.status, 400);
  assert.equal(wrongName.body.error?.code, -32020);
  // A header claiming another tool (or upstream) does not redirect the call: the body's name decides.
  const decoy = await call("v2__seen_headers", {}, { "mcp-param-name": "v2__echo", "mcp-param-upstream": "elsewhere" });
  assert.equal(decoy.status, 200);
  assert.deepEqual(Object.keys(JSON.parse(decoy.body.result!.content![0]!.text)).sort(), ["mcp-name", "mcp-param-name", "mcp-param-upstream"]);
});

test("a Base64 sentinel that is not canonical padded Base64 is refused, not guessed; without both halves it is literal", async () => {
  for (const bad of ["=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?="]) {
    const r = await call("v2__where", { region: "Hello" }, { "mcp-param-region": bad });
    assert.deepEqual([r.status, r.body.error?.code], [400, -32020], bad);
    assert.match(r.body.error!.message, /invalid Base64/);
  }
  const literal = "=?base64?SGVsbG8=";
  const ok = await call("v2__where", { region: literal }, { "mcp-param-region": literal });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const badName = await call("v2__where", { region: "x" }, { "mcp-name": "=?base64?djJfX3doZXJ?=", "mcp-param-region": "x" });
  assert.equal(badName.status, 400, "Mcp-Name whose Base64 is truncated is refused");
});
