// Seeded fuzz (issue 11) over the HTTP client transports: Streamable HTTP POST/GET/DELETE
// and HTTP+SSE (stream + POST). After every case the process must be alive (crash trap),
// the case answered (no hang) with a catalogue status (never 500), and the well-behaved SDK
// client still served correctly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { assertProperty, FC_PARAMS, headerValue, hostileText, startFuzzTarget, within, type FuzzTarget } from "./helpers.js";

let target: FuzzTarget;

before(async () => {
  target = await startFuzzTarget();
});
after(() => target?.close());

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A fresh Streamable HTTP session; returns its id. */
async function newSession(): Promise<string> {
  const r = await fetch(`${target.url}/mcp`, {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } } }),
  });
  await r.arrayBuffer();
  return r.headers.get("mcp-session-id")!;
}

/** Reads a response to its end, or for an SSE stream only its head (streams stay open by design). */
async function drain(res: Response): Promise<void> {
  if (res.headers.get("content-type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    return;
  }
  await res.arrayBuffer();
}

function assertCatalogueStatus(status: number, label: string): void {
  // 5xx the gateway means (502/503/504 from an upstream or a cap) are fine; 500 is a bug.
  assert.ok(status >= 200 && status < 600 && status !== 500, `${label}: HTTP ${status}`);
}

function clean(headers: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v;
  return out;
}

test("fuzz: Streamable HTTP POST with hostile bodies and headers", async () => {
  const session = await newSession();
  await assertProperty(
    fc.asyncProperty(
      hostileText,
      fc.record({ contentType: headerValue, accept: headerValue, version: fc.oneof(fc.constant("2025-06-18"), headerValue), sid: fc.oneof(fc.constant(session), fc.constant(session), headerValue) }),
      async (body, h) => {
        const res = await within(
          fetch(`${target.url}/mcp`, {
            method: "POST",
            headers: clean({ "content-type": h.contentType, accept: h.accept, "mcp-protocol-version": h.version, "mcp-session-id": h.sid }),
            body,
          }),
          `POST ${body.slice(0, 80)}`,
        );
        assertCatalogueStatus(res.status, `POST ${body.slice(0, 80)}`);
        await within(drain(res), `POST body ${body.slice(0, 80)}`);
        await target.check();
      },
    ),
    FC_PARAMS,
  );
  await target.checkThoroughly();
});

test("fuzz: Streamable HTTP GET and DELETE with hostile headers", async () => {
  await assertProperty(
    fc.asyncProperty(
      fc.constantFrom("GET", "DELETE"),
      fc.record({ accept: headerValue, lastEventId: fc.oneof(fc.constant(undefined), fc.nat().map(String), fc.string({ maxLength: 10 })), version: headerValue, ownSession: fc.boolean(), sid: headerValue }),
      async (method, h) => {
        const sid = h.ownSession ? await newSession() : h.sid;
        const res = await within(
          fetch(`${target.url}/mcp`, { method, headers: clean({ accept: h.accept, "last-event-id": h.lastEventId?.replace(/[^\x20-\x7e]/g, ""), "mcp-protocol-version": h.version, "mcp-session-id": sid }) }),
          `${method} ${JSON.stringify(h)}`,
        );
        assertCatalogueStatus(res.status, `${method} ${JSON.stringify(h)}`);
        await within(drain(res), `${method} body`);
        await target.check();
      },
    ),
    FC_PARAMS,
  );
  await target.checkThoroughly();
});

/** Opens an HTTP+SSE stream; resolves with the POST endpoint (the stream is left open, read in the background). */
async function openSse(clientId: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const res = await fetch(`${target.url}/mcp/sse?client_id=${clientId}`, { headers: { accept: "text/event-stream" } });
  const reader = res.body!.getReader();
  let text = "";
  while (!/event: endpoint\ndata: .*\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stream ended before the endpoint event");
    text += new TextDecoder().decode(value);
  }
  const endpoint = /event: endpoint\ndata: (.*)\n/.exec(text)![1]!;
  // Keep reading so the gateway never sees a stalled client.
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return { endpoint: target.url + endpoint, close: () => reader.cancel() };
}

test("fuzz: HTTP+SSE stream and POSTs with hostile bodies, session ids and headers", async () => {
  const sse = await openSse("fuzz-sse");
  await assertProperty(
    fc.asyncProperty(hostileText, fc.record({ contentType: headerValue, ownSession: fc.boolean(), sid: fc.string({ maxLength: 30 }) }), async (body, h) => {
      const url = h.ownSession ? sse.endpoint : `${target.url}/mcp/messages?session_id=${encodeURIComponent(h.sid)}`;
      const res = await within(fetch(url, { method: "POST", headers: clean({ "content-type": h.contentType }), body }), `SSE POST ${body.slice(0, 80)}`);
      assertCatalogueStatus(res.status, `SSE POST ${body.slice(0, 80)}`);
      await res.arrayBuffer();
      await target.check();
    }),
    FC_PARAMS,
  );
  // The stream itself with hostile query and headers.
  await assertProperty(
    fc.asyncProperty(fc.record({ accept: headerValue, sid: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 30 })), lastEventId: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 10 })) }), async (h) => {
      const q = h.sid === undefined ? "?client_id=fuzz-sse-2" : `?client_id=fuzz-sse-2&session_id=${encodeURIComponent(h.sid)}`;
      const res = await within(fetch(`${target.url}/mcp/sse${q}`, { headers: clean({ accept: h.accept, "last-event-id": h.lastEventId?.replace(/[^\x20-\x7e]/g, "") }) }), `SSE GET ${JSON.stringify(h)}`);
      assertCatalogueStatus(res.status, `SSE GET ${JSON.stringify(h)}`);
      await drain(res);
      await target.check();
    }),
    { ...FC_PARAMS, numRuns: 40 },
  );
  await sse.close();
  await target.checkThoroughly();
});
