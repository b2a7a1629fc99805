/**
 * Authentication end to end: JWT (HS256 and RS256 via a JWKS file) and API
 * keys on Streamable HTTP, HTTP+SSE and WebSocket; the OAuth resource-server
 * surface (RFC 9728 metadata, WWW-Authenticate, insufficient_scope); per-tool
 * rules; client tokens never reaching an upstream.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";
import { protectionOf } from "../../src/middleware/chain.js";

const SECRET = "test-secret-0123456789-abcdefghij";
const INIT = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };

async function hs256(claims: Record<string, unknown>, opts: { secret?: string; exp?: number | string; nbf?: number; aud?: string; iss?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setIssuer(opts.iss ?? "https://issuer.test").setAudience(opts.aud ?? "https://gateway.test/mcp");
  jwt.setExpirationTime(opts.exp ?? "5m");
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      // SSE streams stay open: the first chunk (or the end) is enough here.
      res.on("data", (c: string) => {
        body += c;
        if (res.headers["content-type"]?.includes("event-stream")) {
          resolve({ status: res.statusCode!, headers: res.headers, body });
          res.destroy();
        }
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

function postInit(url: string, token?: string): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  if (token) headers.authorization = `Bearer ${token}`;
  return request(`${url}/mcp`, { method: "POST", headers, body: JSON.stringify(INIT) });
}

function openSse(url: string, token?: string): Promise<Reply> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (token) headers.authorization = `Bearer ${token}`;
  return request(`${url}/mcp/sse`, { headers });
}

/** Opens a WebSocket; resolves with the refusal (status, headers, body) or "open". */
function openWs(url: string, opts: { token?: string; query?: string } = {}): Promise<{ status: number; headers?: http.IncomingHttpHeaders; body: string; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws${opts.query ?? ""}`, "mcp", { headers });
    ws.on("open", () => resolve({ status: 101, body: "", ws }));
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    ws.on("error", (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

function assertAuthFailure(r: { status: number; body: string; headers?: http.IncomingHttpHeaders }, reason: string): void {
  assert.equal(r.status, 401, r.body);
  assert.deepEqual(JSON.parse(r.body), { error: "authentication_failed", reason, retry_after: null });
  // Every transport, a refused WebSocket upgrade included, carries the challenge.
  assert.ok(r.headers, "refusal without headers");
  assert.match(String(r.headers["www-authenticate"]), /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/);
  if (reason !== "missing_token") assert.match(String(r.headers["www-authenticate"]), new RegExp(`error="invalid_token", error_description="${reason}"`));
}

describe("JWT (HS256) on every transport", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({
      profile: "test",
      admin: { token: "test-admin-token-0123456789" },
      auth: {
        mode: "jwt",
        jwt: { secret: SECRET, issuer: "https://issuer.test", audience: "https://gateway.test/mcp" },
        authorization_servers: ["https://issuer.test"],
        tool_rules: [
          { tool: "echo", allow_scopes: ["tools:echo"] },
          { tool: "get-sum", deny_scopes: ["restricted"] },
          { tool: "get-env", allow_claims: { role: "admin" } },
        ],
        default_tool_policy: "allow",
      },
      upstreams: [everythingUpstream()],
    }));
  });
  after(() => gateway?.close());

  const cases = [
    { name: "missing token", reason: "missing_token", token: async () => undefined },
    { name: "expired token", reason: "token_expired", token: () => hs256({ sub: "alice" }, { exp: Math.floor(Date.now() / 1000) - 600 }) },
    { name: "wrong signature", reason: "invalid_token", token: () => hs256({ sub: "alice" }, { secret: "another-secret-0123456789-abcdefgh" }) },
    { name: "wrong audience", reason: "invalid_token", token: () => hs256({ sub: "alice" }, { aud: "https://other.test/mcp" }) },
    { name: "wrong issuer", reason: "invalid_token", token: () => hs256({ sub: "alice" }, { iss: "https://evil.test" }) },
    { name: "not yet valid (nbf)", reason: "invalid_token", token: () => hs256({ sub: "alice" }, { nbf: Math.floor(Date.now() / 1000) + 600 }) },
    { name: "garbage", reason: "invalid_token", token: async () => "not.a.jwt" },
  ];

  for (const c of cases) {
    test(`${c.name} -> ${c.reason} on Streamable HTTP, SSE and WebSocket`, async () => {
      const token = await c.token();
      assertAuthFailure(await postInit(url, token), c.reason);
      assertAuthFailure(await openSse(url, token), c.reason);
      const ws = await openWs(url, { token });
      assertAuthFailure(ws, c.reason);
    });
  }

  test("a valid token connects on all three; the subject is the client id", async () => {
    const token = await hs256({ sub: "alice", scope: "tools:echo" });
    const r = await postInit(url, token);
    assert.equal(r.status, 200, r.body);
    const sse = await openSse(url, token);
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers["content-type"]), /text\/event-stream/);
    const ws = await openWs(url, { token });
    assert.equal(ws.status, 101);
    ws.ws!.close();
    const sessions = gateway.registry.byClient("alice");
    assert.ok(sessions.length >= 1);
    assert.deepEqual(sessions[0]!.identity?.scopes, ["tools:echo"]);
  });

  test("WebSocket accepts the token as a connect parameter (browsers, Phoenix); HTTP ignores ?token=", async () => {
    const token = await hs256({ sub: "bob" });
    const ws = await openWs(url, { query: `?token=${token}` });
    assert.equal(ws.status, 101);
    ws.ws!.close();
    const bad = await openWs(url, { query: `?token=${await hs256({ sub: "bob" }, { exp: Math.floor(Date.now() / 1000) - 600 })}` });
    assertAuthFailure(bad, "token_expired");
    const r = await request(`${url}/mcp?token=${token}`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify(INIT) });
    assertAuthFailure(r, "missing_token");
  });

  test("a WebSocket connection is closed with 1008 token_expired when its token expires", async () => {
    const token = await hs256({ sub: "judy" }, { exp: Math.floor(Date.now() / 1000) + 1 });
    const { ws } = await openWs(url, { token });
    const [code, reason] = (await new Promise((resolve) => ws!.once("close", (c: number, r: Buffer) => resolve([c, r.toString()])))) as [number, string];
    assert.equal(code, 1008);
    assert.deepEqual(JSON.parse(reason), { error: "authentication_failed", reason: "token_expired" });
  });

  test("every later request is verified: no token, or another client's token, is refused", async () => {
    const alice = await hs256({ sub: "alice" });
    const init = await postInit(url, alice);
    const sid = String(init.headers["mcp-session-id"]);
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    assertAuthFailure(await request(`${url}/mcp`, { method: "POST", headers, body: ping }), "missing_token");
    const mallory = await hs256({ sub: "mallory" });
    assertAuthFailure(await request(`${url}/mcp`, { method: "POST", headers: { ...headers, authorization: `Bearer ${mallory}` }, body: ping }), "invalid_token");
    const ok = await request(`${url}/mcp`, { method: "POST", headers: { ...headers, authorization: `Bearer ${alice}` }, body: ping });
    assert.equal(ok.status, 200, ok.body);
  });

  test("HTTP+SSE: every POST of the session is verified too", async () => {
    const alice = await hs256({ sub: "alice" });
    const endpoint = await new Promise<{ path: string; close: () => void }>((resolve, reject) => {
      const req = http.get(`${url}/mcp/sse`, { headers: { accept: "text/event-stream", authorization: `Bearer ${alice}` } }, (res) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          buf += c;
          const m = /event: endpoint\ndata: (\S+)/.exec(buf);
          if (m) resolve({ path: m[1]!, close: () => res.destroy() });
        });
      });
      req.on("error", reject);
    });
    try {
      const body = JSON.stringify(INIT);
      const headers = { "content-type": "application/json" };
      assertAuthFailure(await request(`${url}${endpoint.path}`, { method: "POST", headers, body }), "missing_token");
      const mallory = await hs256({ sub: "mallory" });
      assertAuthFailure(await request(`${url}${endpoint.path}`, { method: "POST", headers: { ...headers, authorization: `Bearer ${mallory}` }, body }), "invalid_token");
      const ok = await request(`${url}${endpoint.path}`, { method: "POST", headers: { ...headers, authorization: `Bearer ${alice}` }, body });
      assert.equal(ok.status, 202);
    } finally {
      endpoint.close();
    }
  });

  test("protected-resource metadata (RFC 9728) at both well-known paths", async () => {
    for (const path of ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]) {
      const r = await request(`${url}${path}`, {});
      assert.equal(r.status, 200);
      const meta = JSON.parse(r.body);
      assert.equal(meta.resource, "https://gateway.test/mcp");
      assert.deepEqual(meta.authorization_servers, ["https://issuer.test"]);
      assert.deepEqual(meta.scopes_supported.sort(), ["restricted", "tools:echo"]);
      assert.deepEqual(meta.bearer_methods_supported, ["header"]);
    }
  });

  test("tool rules hide tools from tools/list and calling a hidden tool is tool_not_found", async () => {
    const list = async (claims: Record<string, unknown>) => {
      const token = await hs256(claims);
      const client = new Client({ name: "rules", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
      const names = (await client.listTools()).tools.map((t) => t.name);
      return { client, names };
    };
    const plain = await list({ sub: "carol" });
    assert.ok(!plain.names.includes("echo"), "echo needs tools:echo");
    assert.ok(plain.names.includes("get-sum"));
    assert.ok(!plain.names.includes("get-env"), "get-env needs role=admin");
    await assert.rejects(plain.client.callTool({ name: "echo", arguments: { message: "hi" } }), /Unknown tool: echo/);
    await plain.client.close();

    const power = await list({ sub: "dave", scope: "tools:echo restricted", role: "admin" });
    assert.ok(power.names.includes("echo"));
    assert.ok(!power.names.includes("get-sum"), "restricted scope denies get-sum");
    assert.ok(power.names.includes("get-env"));
    const r = await power.client.callTool({ name: "echo", arguments: { message: "hi" } });
    assert.match(JSON.stringify(r.content), /hi/);
    await power.client.close();
  });

  test("authenticateToken (Phoenix joins) throws the same errors", async () => {
    const { authenticateToken } = protectionOf(gateway);
    await assert.rejects(authenticateToken(undefined), (e: { code: string; details: { reason: string } }) => e.code === "authentication_failed" && e.details.reason === "missing_token");
    const expired = await hs256({ sub: "erin" }, { exp: Math.floor(Date.now() / 1000) - 600 });
    await assert.rejects(authenticateToken(expired), (e: { details: { reason: string } }) => e.details.reason === "token_expired");
    const id = await authenticateToken(await hs256({ sub: "erin", scope: "a b" }));
    assert.equal(id.clientId, "erin");
    assert.deepEqual(id.scopes, ["a", "b"]);
  });
});

describe("required scopes -> 403 insufficient_scope", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({ auth: { mode: "jwt", jwt: { secret: SECRET, audience: "https://gateway.test/mcp" }, required_scopes: ["mcp:use"] } }));
  });
  after(() => gateway?.close());

  test("a valid token without the scope gets 403 with error=insufficient_scope", async () => {
    const r = await postInit(url, await hs256({ sub: "frank", scope: "other" }));
    assert.equal(r.status, 403);
    assert.match(String(r.headers["www-authenticate"]), /error="insufficient_scope", scope="mcp:use"/);
    assert.match(String(r.headers["www-authenticate"]), /resource_metadata="/);
    assert.equal(JSON.parse(r.body).error, "insufficient_scope");
    const ok = await postInit(url, await hs256({ sub: "frank", scope: "mcp:use" }));
    assert.equal(ok.status, 200);
  });

  test("a refused WebSocket upgrade gets the same 403 and WWW-Authenticate", async () => {
    const ws = await openWs(url, { token: await hs256({ sub: "frank", scope: "other" }) });
    assert.equal(ws.status, 403, ws.body);
    assert.match(String(ws.headers?.["www-authenticate"]), /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp", error="insufficient_scope", scope="mcp:use"$/);
    assert.deepEqual(JSON.parse(ws.body), { error: "insufficient_scope", reason: null, retry_after: null });
    const ok = await openWs(url, { token: await hs256({ sub: "frank", scope: "mcp:use" }) });
    assert.equal(ok.status, 101);
    ok.ws!.close();
  });
});

describe("RS256 from a JWKS file; audience defaults to the gateway's URL", () => {
  let gateway: Gateway;
  let url: string;
  let privateKey: CryptoKey;
  before(async () => {
    const pair = await generateKeyPair("RS256");
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const dir = mkdtempSync(join(tmpdir(), "gw-jwks-"));
    const file = join(dir, "jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    ({ gateway, url } = await startTestGateway({ auth: { mode: "jwt", jwt: { jwks_file: file } } }));
  });
  after(() => gateway?.close());

  const sign = (aud: string, key = privateKey) =>
    new SignJWT({ sub: "grace" }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setAudience(aud).setExpirationTime("5m").sign(key);

  test("a token for this gateway's /mcp URL is accepted; one for another resource is not", async () => {
    assert.equal((await postInit(url, await sign(`${url}/mcp`))).status, 200);
    assertAuthFailure(await postInit(url, await sign("http://other.example/mcp")), "invalid_token");
    const other = await generateKeyPair("RS256");
    assertAuthFailure(await postInit(url, await sign(`${url}/mcp`, other.privateKey as CryptoKey)), "invalid_token");
  });
});

describe("static API keys (stored hashed)", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    const sha256 = createHash("sha256").update("key-of-heidi").digest("hex");
    ({ gateway, url } = await startTestGateway({ auth: { mode: "api_key", api_keys: [{ sha256, client_id: "heidi", scopes: ["s1"] }] } }));
  });
  after(() => gateway?.close());

  test("the right key identifies its client; a wrong one is invalid_token", async () => {
    assert.equal((await postInit(url, "key-of-heidi")).status, 200);
    assert.equal(gateway.registry.byClient("heidi").length, 1);
    assertAuthFailure(await postInit(url, "key-of-mallory"), "invalid_token");
    assertAuthFailure(await postInit(url), "missing_token");
  });
});

describe("client tokens are never forwarded upstream", () => {
  let gateway: Gateway;
  let url: string;
  let upstream: http.Server;
  const seen: string[] = [];
  before(async () => {
    upstream = http.createServer(async (req, res) => {
      seen.push(String(req.headers.authorization));
      const mcp = new McpServer({ name: "spy", version: "1" });
      mcp.registerTool("whoami", { description: "x" }, async () => ({ content: [{ type: "text", text: "ok" }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on("close", () => void transport.close());
      await mcp.connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    const port = (upstream.address() as { port: number }).port;
    ({ gateway, url } = await startTestGateway({
      auth: { mode: "jwt", jwt: { secret: SECRET, audience: "https://gateway.test/mcp" } },
      upstreams: [{ name: "spy", transport: "streamable_http", url: `http://127.0.0.1:${port}/mcp`, headers: { authorization: "Bearer upstream-credential" } }],
    }));
  });
  after(async () => {
    await gateway?.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  test("the upstream sees only its configured credential", async () => {
    const token = await hs256({ sub: "ivan" });
    const client = new Client({ name: "c", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    const r = await client.callTool({ name: "whoami", arguments: {} });
    assert.match(JSON.stringify(r.content), /ok/);
    await client.close();
    assert.ok(seen.length > 0);
    for (const h of seen) assert.equal(h, "Bearer upstream-credential");
  });
});
