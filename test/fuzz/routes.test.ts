// Seeded fuzz (issue 11) over every HTTP route: health, gateway health, stats, metrics, the
// admin API with and without the token, client health, the dashboard and its stream, the
// well-known metadata, and unknown paths. Methods, path parameters (percent junk), query
// strings, headers and bodies are hostile. After every case the process must be alive, the
// answer complete (no hang) and never 500, and the well-behaved SDK client still served.
//
// With the admin token, the operator actions meant to disrupt clients (reset, pool clear and
// restart, transport restart, config writes, cleanup/gc of idle connections) are left out:
// they would end the well-behaved client's session by design, not by a bug.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ADMIN_TOKEN, assertProperty, FC_PARAMS, headerValue, hostileText, pathSegment, startFuzzTarget, within, type FuzzTarget } from "./helpers.js";

let target: FuzzTarget;

before(async () => {
  target = await startFuzzTarget();
});
after(() => target?.close());

/** Route templates; `:x` is replaced by a fuzzed segment. */
const PUBLIC_ROUTES = ["/health", "/health/gateway", "/mcp/stats", "/metrics", "/mcp/health/client/:x", "/dashboard", "/dashboard/stream", "/dashboard/assets/:x", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/:x", "/mcp/:x", "/mcp/admin/:x/:x"];
const ADMIN_READS = [
  "/mcp/admin/status",
  "/mcp/admin/stats",
  "/mcp/admin/clients",
  "/mcp/admin/clients/:x",
  "/mcp/admin/clients/:x/trace",
  "/mcp/admin/clients/:x/errors",
  "/mcp/admin/connections",
  "/mcp/admin/connections/old",
  "/mcp/admin/analyze-1006",
  "/mcp/admin/breakers",
  "/mcp/admin/pool",
  "/mcp/admin/hash",
  "/mcp/admin/oscillation",
  "/mcp/admin/transports/:x/health",
  "/mcp/admin/rate-limit/stats",
  "/mcp/admin/rate-limit/check",
  "/mcp/admin/config",
  "/mcp/admin/logging",
  "/mcp/admin/memory",
  "/mcp/admin/queues",
];
const ADMIN_SAFE_WRITES = ["/mcp/admin/breakers/reset", "/mcp/admin/rate-limit/set", "/mcp/admin/rate-limit/reset", "/mcp/admin/logging"];
const DESTRUCTIVE = ["/mcp/admin/clients/:x/disconnect", "/mcp/admin/reset", "/mcp/admin/pool/clear", "/mcp/admin/pool/restart", "/mcp/admin/transports/:x/restart", "/mcp/admin/config", "/mcp/admin/cleanup", "/mcp/admin/gc"];

const query = fc.oneof(
  fc.constant(""),
  fc.dictionary(fc.constantFrom("hours", "last_hours", "transport", "client", "path", "key", "max_idle_seconds", "token", "x"), fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), fc.constant("-1"), fc.constant("1e999"))).map((d) => `?${new URLSearchParams(d)}`),
  pathSegment.map((s) => `?${s}`),
);

async function hit(method: string, template: string, segments: string[], q: string, headers: Record<string, string>, body: string | undefined): Promise<void> {
  let i = 0;
  const path = template.replace(/:x/g, () => segments[i++ % segments.length] ?? "x");
  const label = `${method} ${path.slice(0, 120)}${q.slice(0, 60)}`;
  const res = await within(fetch(`${target.url}${path}${q}`, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body }), label);
  if (res.status === 500) assert.fail(`${label}: 500 ${(await res.text().catch(() => "")).slice(0, 500)}`);
  if (res.headers.get("content-type")?.includes("text/event-stream")) await res.body?.cancel();
  else await within(res.arrayBuffer(), `${label} body`);
  await target.check();
}

const headers = fc.record({ accept: headerValue, "content-type": headerValue, authorization: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, "")}`), fc.constant("Basic x")), origin: fc.oneof(fc.constant(undefined), fc.constantFrom("http://evil.example", "null", "http://127.0.0.1")) });

function clean(h: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
  return out;
}

test("fuzz: every HTTP route without the admin token (admin routes included)", async () => {
  await assertProperty(
    fc.asyncProperty(
      fc.constantFrom("GET", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"),
      fc.constantFrom(...PUBLIC_ROUTES, ...ADMIN_READS, ...ADMIN_SAFE_WRITES, ...DESTRUCTIVE),
      fc.array(pathSegment, { minLength: 1, maxLength: 2 }),
      query,
      headers,
      hostileText,
      async (method, route, segments, q, h, body) => {
        const hdrs = clean(h);
        // No admin token here: a fuzzed Bearer value is never the real one.
        if (hdrs.authorization?.includes(ADMIN_TOKEN)) delete hdrs.authorization;
        await hit(method, route, segments, q, hdrs, body);
      },
    ),
    FC_PARAMS,
  );
  // Destructive admin routes without the token were refused, so nothing was reset.
  await target.checkThoroughly();
});

test("fuzz: admin reads and safe writes with the admin token", async () => {
  await assertProperty(
    fc.asyncProperty(
      fc.oneof(fc.constantFrom(...ADMIN_READS).map((r) => ["GET", r] as const), fc.constantFrom(...ADMIN_SAFE_WRITES).map((r) => ["POST", r] as const), fc.constantFrom(...PUBLIC_ROUTES).map((r) => ["GET", r] as const)),
      fc.array(pathSegment, { minLength: 1, maxLength: 2 }),
      query,
      headers,
      fc.oneof(hostileText, fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null"), fc.record({ target: fc.string({ maxLength: 10 }), key: fc.string({ maxLength: 10 }), limit: fc.integer(), debug: fc.boolean() }).map((v) => JSON.stringify(v))),
      async ([method, route], segments, q, h, body) => {
        await hit(method, route, segments, q, { ...clean(h), authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": h["content-type"] ?? "application/json" }, body);
      },
    ),
    FC_PARAMS,
  );
  await target.checkThoroughly();
});
