/**
 * The admin token: checkAdminToken (constant-time, Bearer header only) and
 * the profile rules of the config loader (dev: `admin-token` on 127.0.0.1;
 * other profiles refuse the default or a missing token).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { loadConfig, validateConfig, DEV_ADMIN_TOKEN } from "../../src/config/index.js";
import { checkAdminToken } from "../../src/admin/admin-auth.js";

const req = (headers: Record<string, string>, url = "/mcp/admin/cleanup") => ({ headers, url }) as unknown as IncomingMessage;

test("dev profile: admin-token, bound to 127.0.0.1", () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.profile, "dev");
  assert.equal(c.admin.token, DEV_ADMIN_TOKEN);
  assert.equal(DEV_ADMIN_TOKEN, "admin-token");
  assert.equal(c.server.host, "127.0.0.1");
  assert.equal(checkAdminToken(req({ authorization: "Bearer admin-token" }), c), null);
});

test("other profiles refuse the default token, a missing token and a short one", () => {
  for (const profile of ["test", "prod"] as const) {
    assert.throws(() => validateConfig({ profile, auth: { mode: "api_key" } }), /admin\.token: required/);
    assert.throws(() => validateConfig({ profile, admin: { token: "admin-token" }, auth: { mode: "api_key" } }), /refused outside the dev profile/);
    assert.throws(() => validateConfig({ profile, admin: { token: "short" }, auth: { mode: "api_key" } }), /at least 16/);
  }
  assert.throws(() => loadConfig({ env: { MCP_GATEWAY_PROFILE: "prod" } }), /admin\.token/);
  assert.throws(() => validateConfig({ profile: "prod", admin: { token: "a-long-enough-admin-token" } }), /auth\.mode: "none"/);
  const ok = loadConfig({ env: { MCP_GATEWAY_PROFILE: "test", MCP_GATEWAY_ADMIN_TOKEN: "a-long-enough-admin-token" } });
  assert.equal(ok.admin.token, "a-long-enough-admin-token");
});

test("checkAdminToken: only the exact Bearer token passes", () => {
  const c = validateConfig({ profile: "test", admin: { token: "s3cret-admin-token-xyz" }, logging: { dir: "" } });
  assert.equal(checkAdminToken(req({ authorization: "Bearer s3cret-admin-token-xyz" }), c), null);
  assert.equal(checkAdminToken(req({ authorization: "bearer s3cret-admin-token-xyz" }), c), null);
  for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: "Bearer s3cret-admin-token-xy" }, { authorization: "Basic s3cret-admin-token-xyz" }, { authorization: "s3cret-admin-token-xyz" }]) {
    const err = checkAdminToken(req(headers), c);
    assert.equal(err?.code, "admin_unauthorized", JSON.stringify(headers));
    assert.equal(err?.status, 401);
  }
  // Never from the query string.
  assert.equal(checkAdminToken(req({}, "/mcp/admin/cleanup?token=s3cret-admin-token-xyz"), c)?.code, "admin_unauthorized");
});
