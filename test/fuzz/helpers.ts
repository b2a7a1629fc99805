// The seeded fuzz suite's shared parts (issue 11): one real gateway in this process in front
// of the conformance fixture, a crash trap (an uncaughtException or unhandledRejection fails
// the test), a second, well-behaved SDK client that must keep getting correct answers, and
// the fast-check arbitraries of hostile input. Every run is bounded in count and time.
import assert from "node:assert/strict";
import fc from "fast-check";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Gateway } from "../../src/gateway.js";
import { fixtureUpstream, startTestGateway } from "../helpers/gateway.js";
import { trapCrashes } from "../helpers/edge.js";

/** Fixed seed: a failure reproduces with the same inputs (fast-check prints the path to shrink from). */
export const SEED = 20261101;
/** Cases per transport, and the time budget after which a run stops early (ms): a few seconds each. */
export const RUNS = 150;
export const TIME_LIMIT_MS = 3000;
/** One case must be answered within this (ms): a hang is a failure, not a slow case. */
export const CASE_TIMEOUT_MS = 5000;

/** fast-check parameters every property of the suite uses. */
export const FC_PARAMS = { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, endOnFailure: true } as const;

/**
 * fc.assert with a readable failure: counterexamples can be 80 KB strings, so the report keeps
 * the seed/path line, a cut counterexample and the error that failed the case.
 */
export async function assertProperty<T extends unknown[]>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T> = FC_PARAMS as fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(property, params);
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    const cause = e.cause as Error | undefined;
    throw new Error(`${cut(e.message, 1500)}\ncase failed with: ${cut(cause?.stack ?? String(cause), 1500)}`);
  }
}

function cut(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}... (${s.length} chars)`;
}

export const ADMIN_TOKEN = "fuzz-admin-token-0123456789";

/** A fuzz target: the gateway, its URL, the crash trap and the well-behaved client. */
export interface FuzzTarget {
  gateway: Gateway;
  url: string;
  port: number;
  /** Throws when the process threw past its handlers, or the SDK client is no longer served correctly. */
  check(): Promise<void>;
  /** The thorough version of check: also a forwarded tools/call with its real answer. */
  checkThoroughly(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the gateway under fuzz and connects the well-behaved SDK client. */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const trap = trapCrashes();
  const { gateway, url, port } = await startTestGateway({
    rate_limiting: { enabled: false },
    admin: { token: ADMIN_TOKEN },
    // Small frames and bodies so oversize cases are cheap to generate.
    server: { body_limit: 64 * 1024 },
    websocket: { max_frame_size: 32 * 1024 },
    // Streams left open by cases do not hold the shutdown for the default 10 s.
    shutdown: { drain_timeout: 500 },
    upstreams: [fixtureUpstream()],
  });
  const client = new Client({ name: "well-behaved", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  const expectedTools = (await client.listTools()).tools.length;
  assert.ok(expectedTools > 0);
  const check = async () => {
    trap.assertNone();
    await client.ping();
    assert.equal((await client.listTools()).tools.length, expectedTools, "the well-behaved client still sees every tool");
  };
  return {
    gateway,
    url,
    port,
    check,
    async checkThoroughly() {
      await check();
      const r = (await client.callTool({ name: "test_simple_text", arguments: {} })) as { content: Array<{ text: string }> };
      assert.equal(r.content[0]!.text, "This is a simple text response for testing.");
      for (const b of gateway.resilience?.breakerStates() ?? []) assert.equal(b.state, "closed", `${b.kind} breaker ${b.target} opened under fuzz`);
    },
    async close() {
      await client.close().catch(() => {});
      await gateway.close();
      trap.assertNone();
      trap.dispose();
    },
  };
}

/** Rejects after `ms` unless `p` settles first (a hang is reported, not waited out). */
export function within<T>(p: Promise<T>, label: string, ms = CASE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---- arbitraries ------------------------------------------------------------

const METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
  "notifications/gateway/ack",
];

/** Ids of every JSON type: valid ones (strings, integers) and invalid ones (null, fractions, objects...). */
export const anyId = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant({}), fc.constant([1]));

/** Nesting `depth` levels of arrays/objects (the depth limit and the serializers' stack). */
export const deepValue = fc
  .tuple(fc.integer({ min: 1, max: 400 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`));

/** Params: missing, JSON values, tool calls of safe fixture tools and unknown names, deep values. */
const params = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ name: fc.constantFrom("test_simple_text", "test_error_handling", "nope", ""), arguments: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ uri: fc.oneof(fc.string(), fc.constant("test://static-resource")) }),
  fc.record({ level: fc.oneof(fc.constantFrom("debug", "info", "error"), fc.string()) }),
  fc.record({ requestId: anyId }),
  fc.record({ protocolVersion: fc.constantFrom("2025-06-18", "2024-11-05", "x"), capabilities: fc.jsonValue({ maxDepth: 2 }), clientInfo: fc.jsonValue({ maxDepth: 2 }) }),
);

/** A JSON-RPC-shaped message with every field possibly wrong. */
const rpcLike = fc
  .record(
    {
      jsonrpc: fc.oneof(fc.constant("2.0"), fc.constant("2.0"), fc.constant("1.0"), fc.integer(), fc.constant(null)),
      id: anyId,
      method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null)),
      params,
      result: fc.jsonValue({ maxDepth: 2 }),
      error: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["jsonrpc"] },
  )
  .map((m) => JSON.stringify(m));

/** Text a client might send as one message: JSON-RPC-shaped, any JSON, broken JSON, deep nesting, big strings. */
export const hostileText = fc.oneof(
  { weight: 5, arbitrary: rpcLike },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null") },
  { weight: 2, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom("null", "123", '"x"', "[]", "{}", "true", "[{}]", '{"jsonrpc":"2.0"}', '{"jsonrpc":"2.0","id":1}', "\u0000", "{", "]") },
  { weight: 1, arbitrary: deepValue.map((v) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"test_simple_text","arguments":{"x":${v}}}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 }).map((kb) => `{"jsonrpc":"2.0","id":1,"method":"${"m".repeat(kb * 1024)}"}`) },
);

/** Random HTTP header values, including hostile ones (no CR/LF: the client library would refuse them itself). */
export const headerValue = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")), fc.constantFrom("application/json", "text/event-stream", "*/*", "application/json, text/event-stream"));

/** Path segments for `:param` routes: percent junk, unicode, dots, long ones. */
export const pathSegment = fc.oneof(
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom("%", "%E0%A4%A", "%ZZ", "%00", "..", "%2F", "a%", "%%", "%C0%AF", "x".repeat(2000)),
  fc.stringMatching(/^[A-Za-z0-9%._~-]{1,30}$/),
);
