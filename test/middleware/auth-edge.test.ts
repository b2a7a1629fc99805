// Issue 11 items 14-16: `?token=` only on a real WebSocket upgrade; the JWT audience and
// WWW-Authenticate never follow an unvalidated Host / X-Forwarded-Proto; tokens without
// `exp` are refused unless auth.jwt.require_exp is false.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import { startTestGateway } from "../helpers/gateway.js";
import { FrameSocket } from "../helpers/edge.js";
import type { Gateway } from "../../src/gateway.js";

const SECRET = "edge-secret-0123456789-abcdefghij";
const INIT = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });

function sign(claims: Record<string, unknown>, aud: string, exp: string | null = "5m"): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setAudience(aud);
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

/** A raw HTTP request (undici's fetch refuses Host and Upgrade headers). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
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
    req.end(opts.body);
  });
}

function postInit(url: string, token: string, headers: Record<string, string> = {}) {
  return request(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, ...headers }, body: INIT });
}

describe("item 14: ?token= is read only on a real WebSocket upgrade", () => {
  let gateway: Gateway;
  let url: string;
  const KEY = "edge-api-key-0123456789";
  before(async () => {
    const sha256 = createHash("sha256").update(KEY).digest("hex");
    ({ gateway, url } = await startTestGateway({ auth: { mode: "api_key", api_keys: [{ sha256, client_id: "keyed" }] }, upstreams: [] }));
  });
  after(() => gateway?.close());

  test("a plain HTTP request carrying Upgrade: websocket gets 401 missing_token despite ?token=", async () => {
    const r = await request(`${url}/mcp/sse?token=${KEY}`, { headers: { accept: "text/event-stream", upgrade: "websocket" } });
    assert.equal(r.status, 401, r.body);
    assert.equal(JSON.parse(r.body).reason, "missing_token");
    // The header still works on that request.
    const ok = await request(`${url}/mcp/sse`, { headers: { accept: "text/event-stream", authorization: `Bearer ${KEY}` } });
    assert.equal(ok.status, 200);
  });

  test("a real upgrade may carry ?token= (browsers cannot set headers)", async () => {
    const s = await FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws?token=${KEY}`, "mcp");
    await s.close();
    await assert.rejects(FrameSocket.open(`${url.replace(/^http/, "ws")}/mcp/ws?token=wrong`, "mcp"), (e: { status?: number }) => e.status === 401);
  });
});

describe("item 15: without jwt.audience the Host header is validated, never reflected raw", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({ server: { allowed_hosts: ["*"] }, auth: { mode: "jwt", jwt: { secret: SECRET } }, upstreams: [] }));
  });
  after(() => gateway?.close());

  test("an injected Host value does not reach WWW-Authenticate", async () => {
    const r = await request(`${url}/mcp`, { method: "POST", headers: { host: '127.0.0.1:1", error="injected', "content-type": "application/json", accept: "application/json, text/event-stream" }, body: INIT });
    // Either refused as a bad Host (403) or answered 401: never with the injected parameter.
    assert.ok(r.status === 401 || r.status === 403, `${r.status} ${r.body}`);
    const challenge = String(r.headers["www-authenticate"] ?? "");
    assert.doesNotMatch(challenge, /injected/);
    if (r.status === 401) assert.match(challenge, /^Bearer resource_metadata="http:\/\/localhost\/\.well-known\/oauth-protected-resource\/mcp"$/);
  });
});

describe("item 15: server.public_url fixes the audience; Host and X-Forwarded-Proto do not move it", () => {
  let gateway: Gateway;
  let url: string;
  before(async () => {
    ({ gateway, url } = await startTestGateway({ server: { public_url: "https://gw.example", allowed_hosts: ["*"] }, auth: { mode: "jwt", jwt: { secret: SECRET } }, upstreams: [] }));
  });
  after(() => gateway?.close());

  test("a token for the Host the client chose is refused; one for public_url is accepted", async () => {
    const forHost = await sign({ sub: "mallory" }, "https://evil.example/mcp");
    const r = await postInit(url, forHost, { host: "evil.example", "x-forwarded-proto": "https" });
    assert.equal(r.status, 401, r.body);
    assert.equal(JSON.parse(r.body).reason, "invalid_token");
    assert.match(String(r.headers["www-authenticate"]), /resource_metadata="https:\/\/gw\.example\/\.well-known\/oauth-protected-resource\/mcp"/);
    const ok = await postInit(url, await sign({ sub: "alice" }, "https://gw.example/mcp"), { host: "evil.example" });
    assert.equal(ok.status, 200, ok.body);
    const meta = await request(`${url}/.well-known/oauth-protected-resource`, { headers: { host: "evil.example" } });
    assert.equal(JSON.parse(meta.body).resource, "https://gw.example/mcp");
  });
});

describe("item 16: JWTs without exp", () => {
  test("are refused by default (invalid_token) and accepted with auth.jwt.require_exp: false", async () => {
    const aud = "https://gateway.test/mcp";
    const noExp = await sign({ sub: "forever" }, aud, null);
    const strict = await startTestGateway({ auth: { mode: "jwt", jwt: { secret: SECRET, audience: aud } }, upstreams: [] });
    try {
      const r = await postInit(strict.url, noExp);
      assert.equal(r.status, 401, r.body);
      assert.equal(JSON.parse(r.body).reason, "invalid_token");
      assert.equal((await postInit(strict.url, await sign({ sub: "mortal" }, aud))).status, 200);
    } finally {
      await strict.gateway.close();
    }
    const lax = await startTestGateway({ auth: { mode: "jwt", jwt: { secret: SECRET, audience: aud, require_exp: false } }, upstreams: [] });
    try {
      assert.equal((await postInit(lax.url, noExp)).status, 200);
    } finally {
      await lax.gateway.close();
    }
  });
});
