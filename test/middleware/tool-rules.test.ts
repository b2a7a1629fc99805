/** auth.tool_rules semantics: globs, first match wins, deny scopes, claims, default policy. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/index.js";
import { createToolFilter } from "../../src/middleware/auth/tool-rules.js";
import { bearerToken, upgradeToken, scopesOf } from "../../src/middleware/auth/token.js";
import { Session } from "../../src/session/session.js";
import type { IncomingMessage } from "node:http";

function sessionWith(scopes: string[], claims: Record<string, unknown> = {}): Session {
  const s = new Session("s", "c", "websocket", { size: 10, bytes: 1000 });
  s.identity = { clientId: "c", scopes, claims };
  return s;
}

const filterOf = (auth: Record<string, unknown>) => createToolFilter(validateConfig({ auth, logging: { dir: "" } }).auth)!;

test("no rules and default allow: no filter at all (the relay's fast path)", () => {
  assert.equal(createToolFilter(validateConfig({}).auth), undefined);
});

test("first matching rule decides; globs; default policy for the rest", () => {
  const f = filterOf({
    tool_rules: [
      { tool: "fs__write_*", allow_scopes: ["fs:write"] },
      { tool: "fs__*", deny_scopes: ["no-fs"] },
      { tool: "admin", allow_claims: { role: ["admin", "ops"], team: "core" } },
    ],
    default_tool_policy: "deny",
  });
  assert.equal(f(sessionWith([]), "fs__write_file"), false);
  assert.equal(f(sessionWith(["fs:write"]), "fs__write_file"), true);
  assert.equal(f(sessionWith(["fs:write", "no-fs"]), "fs__write_file"), true, "the first match wins");
  assert.equal(f(sessionWith([]), "fs__read"), true);
  assert.equal(f(sessionWith(["no-fs"]), "fs__read"), false);
  assert.equal(f(sessionWith([], { role: "ops", team: "core" }), "admin"), true);
  assert.equal(f(sessionWith([], { role: ["viewer", "admin"], team: "core" }), "admin"), true);
  assert.equal(f(sessionWith([], { role: "admin" }), "admin"), false, "every claim must match");
  assert.equal(f(sessionWith(["anything"]), "other"), false, "default deny");
  assert.equal(f(sessionWith([]), "fs_x"), false, "no accidental regex: '_' is literal, '*' only wildcard");
});

test("tokens: Bearer header only, ?token= only on WebSocket upgrades; scopes from scope or scp", () => {
  const req = (headers: Record<string, string>, url = "/mcp") => ({ headers, url }) as unknown as IncomingMessage;
  // What Node's parser hands to the `upgrade` event: `req.upgrade` is set (a header alone is not an upgrade).
  const upgradeReq = (headers: Record<string, string>, url: string) => ({ headers, url, upgrade: true }) as unknown as IncomingMessage;
  assert.equal(bearerToken(req({ authorization: "Bearer abc.def" })), "abc.def");
  assert.equal(bearerToken(req({ authorization: "Basic abc" })), undefined);
  assert.equal(bearerToken(req({}, "/mcp?token=abc")), undefined);
  assert.equal(upgradeToken(req({}, "/mcp?token=abc")), undefined, "not an upgrade");
  assert.equal(upgradeToken(req({ upgrade: "websocket" }, "/mcp/ws?token=abc")), undefined, "an Upgrade header on a plain request is not an upgrade");
  assert.equal(upgradeToken(upgradeReq({ upgrade: "websocket" }, "/mcp/ws?token=abc")), "abc");
  assert.equal(upgradeToken(upgradeReq({ upgrade: "websocket", authorization: "Bearer hdr" }, "/mcp/ws?token=abc")), "hdr", "the header wins");
  assert.deepEqual(scopesOf({ scope: "a b  c" }), ["a", "b", "c"]);
  assert.deepEqual(scopesOf({ scp: ["x", 1, "y"] }), ["x", "y"]);
  assert.deepEqual(scopesOf({}), []);
});
