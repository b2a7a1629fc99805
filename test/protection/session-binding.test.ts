/**
 * Issue 11 item 12: the public /mcp/health/client/:id showed session ids
 * (enough to read a client's replay, post on its session and delete it) and
 * raw error texts; and in the dev profile any request naming a session id
 * was served. Now the public view hides both, and every session operation is
 * bound to the identity that created the session: in dev, the self-name
 * plus the peer that created it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { startTestGateway } from "../helpers/gateway.js";
import { AuthService } from "../../src/middleware/auth/auth-service.js";
import { validateConfig } from "../../src/config/index.js";
import { Session } from "../../src/session/session.js";
import { selfNamedIdentity } from "../../src/listeners/identity.js";

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const INIT = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
const SECRET_INPUT = "secret-input-7f3a";

async function open(url: string, headers: Record<string, string>): Promise<string> {
  const res = await fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, ...headers }, body: INIT });
  assert.equal(res.status, 200);
  await res.text();
  return res.headers.get("mcp-session-id")!;
}

function post(url: string, session: string, headers: Record<string, string>, body: object) {
  return fetch(`${url}/mcp`, { method: "POST", headers: { ...HEADERS, "mcp-session-id": session, ...headers }, body: JSON.stringify(body) });
}

describe("public client health", () => {
  for (const mode of ["none", "api_key"] as const) {
    test(`auth ${mode}: no session ids and no error texts on /mcp/health/client/:id; the admin view keeps them`, async () => {
      const key = "k-0123456789abcdef";
      const auth = mode === "none" ? {} : { mode, api_keys: [{ sha256: createHash("sha256").update(key).digest("hex"), client_id: "alice" }] };
      const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { enabled: false }, auth, admin: { token: "admin-token" } });
      try {
        const who = mode === "none" ? { "x-client-id": "alice" } : { authorization: `Bearer ${key}` };
        const session = await open(url, who);
        const bad = await post(url, session, who, { jsonrpc: "2.0", id: 2, method: `nope/${SECRET_INPUT}` });
        assert.equal((await bad.json()).error.data.error, "method_not_found");
        const res = await fetch(`${url}/mcp/health/client/alice`);
        assert.equal(res.status, 200);
        const text = await res.text();
        const body = JSON.parse(text);
        assert.equal(body.sessions, 1);
        assert.equal(body.errors.count, 1);
        assert.equal(body.errors.last.code, "method_not_found");
        assert.ok(!text.includes(session), "the session id is not shown");
        assert.ok(!text.includes(SECRET_INPUT), "the error text is not shown");
        assert.equal(body.errors.last.message, undefined);
        const full = await fetch(`${url}/mcp/admin/clients/alice`, { headers: { authorization: "Bearer admin-token" } });
        assert.ok((await full.text()).includes(session), "the admin view has the session id");
      } finally {
        await gateway.close();
      }
    });
  }
});

describe("session operations are bound to their creator (dev profile)", () => {
  test("another self-name cannot post on, stream from or delete a session", async () => {
    const { gateway, url } = await startTestGateway({ upstreams: [], rate_limiting: { enabled: false } });
    try {
      const session = await open(url, { "x-client-id": "alice" });
      for (const intruder of [{ "x-client-id": "mallory" }, {} as Record<string, string>]) {
        const res = await post(url, session, intruder, { jsonrpc: "2.0", id: 5, method: "ping" });
        assert.equal(res.status, 404);
        assert.equal((await res.json()).error, "session_not_found");
        const get = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": session, ...intruder } });
        assert.equal(get.status, 404);
        await get.text();
        const del = await fetch(`${url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": session, ...intruder } });
        assert.equal(del.status, 404);
        await del.text();
      }
      assert.ok(gateway.registry.get(session), "the session survived");
      const own = await post(url, session, { "x-client-id": "alice" }, { jsonrpc: "2.0", id: 6, method: "ping" });
      assert.equal(own.status, 200);
    } finally {
      await gateway.close();
    }
  });

  test("the same self-name from another peer address does not own the session", async () => {
    const auth = new AuthService(validateConfig({}).auth);
    const req = (address: string) => ({ headers: { "x-client-id": "alice" }, url: "/mcp", socket: { remoteAddress: address } }) as unknown as IncomingMessage;
    const session = new Session("s-1", "alice", "streamable_http", { size: 10, bytes: 1000 });
    session.identity = selfNamedIdentity(req("127.0.0.1")) as Session["identity"];
    assert.equal(await auth.verify(req("127.0.0.1"), session), null);
    const other = await auth.verify(req("10.1.2.3"), session);
    assert.equal(other?.code, "session_not_found");
  });
});
