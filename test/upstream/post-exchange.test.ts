/**
 * Edges of the POST exchange (ADR 0240) against plain node HTTP servers that
 * answer in ways the SDK servers never do: a body split inside a UTF-8
 * sequence (the fast decode path must hand over to a streaming decoder), an
 * error answer whose body never ends (read 64 KiB, then give up on it), an
 * informational 103 before the real answer, an SSE event split inside
 * a multi-byte character, and a modern-wire request cancelled by closing
 * its stream.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { once } from "node:events";
import { StreamableHttpUpstreamTransport } from "../../src/upstream/transports/streamable-http.js";
import { Inbox, closeHttp, listenLocal } from "./helpers.js";

const TEXT = "héllo wörld 𝄞 ünïcode ".repeat(50);

/** A server whose POST handler is `answer`, on 127.0.0.1:0; closes itself after the test's body. */
async function withServer(answer: (req: http.IncomingMessage, res: http.ServerResponse, msg: { id?: unknown }) => void, body: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => answer(req, res, JSON.parse(Buffer.concat(chunks).toString())));
  });
  const port = await listenLocal(server);
  try {
    await body(`http://127.0.0.1:${port}/mcp`);
  } finally {
    await closeHttp(server);
  }
}

/** Writes `bytes` in two writes, the cut inside the first multi-byte character after `at`. */
function writeSplit(res: http.ServerResponse, bytes: Buffer, at: number): void {
  let cut = at;
  while (cut < bytes.length && bytes[cut]! < 0x80) cut++;
  res.write(bytes.subarray(0, cut + 1));
  setTimeout(() => res.end(bytes.subarray(cut + 1)), 20);
}

async function call(url: string): Promise<Inbox["items"][number]> {
  const t = new StreamableHttpUpstreamTransport({ url, sessionId: undefined });
  const inbox = new Inbox().attach(t);
  try {
    t.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } });
    return await inbox.reply(1);
  } finally {
    await t.close();
  }
}

describe("POST exchange", () => {
  it("decodes a JSON body split inside a UTF-8 sequence", async () => {
    await withServer(
      (_req, res, msg) => {
        res.writeHead(200, { "content-type": "application/json" });
        writeSplit(res, Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { text: TEXT } })), 40);
      },
      async (url) => {
        const reply = await call(url);
        assert.equal(reply.msg.result.text, TEXT);
      },
    );
  });

  it("decodes an SSE event split inside a UTF-8 sequence and relates it to the request", async () => {
    await withServer(
      (_req, res, msg) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        writeSplit(res, Buffer.from(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { text: TEXT } })}\n\n`), 40);
      },
      async (url) => {
        const reply = await call(url);
        assert.equal(reply.msg.result.text, TEXT);
        assert.deepEqual(reply.extra, { relatedRequestId: 1 });
      },
    );
  });

  it("answers with the status of an error whose body never ends, after reading 64 KiB of it", async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(503, { "content-type": "text/html" });
        // 128 KiB and no end: without the 64 KiB cut the request would wait for ever.
        res.write("<p>".padEnd(128 * 1024, "x"));
      },
      async (url) => {
        const reply = await call(url);
        assert.equal(reply.msg.error.data.error, "upstream_error");
        assert.equal(reply.msg.error.data.status, 503);
      },
    );
  });

  it("waits past an informational 103 for the real answer", async () => {
    await withServer(
      (_req, res, msg) => {
        res.writeEarlyHints({ link: "</x>; rel=preload" }, () => {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: { ok: true } }));
        });
      },
      async (url) => {
        const reply = await call(url);
        assert.deepEqual(reply.msg.result, { ok: true });
      },
    );
  });

  it("cancels a 2026-07-28 request by closing its stream: the server sees it closed, no error stands in for it", async () => {
    let closed!: Promise<unknown>;
    await withServer(
      (req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": open\n\n");
        closed = once(res, "close");
        void req;
      },
      async (url) => {
        const t = new StreamableHttpUpstreamTransport({ url });
        const inbox = new Inbox().attach(t);
        t.useModernWire();
        t.send({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "slow", _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } } });
        // The stream is open once the server wrote its comment; cancelling before that is the queued case.
        while (closed === undefined) await new Promise((r) => setImmediate(r));
        assert.equal(t.cancelRequest(9), true);
        await closed;
        assert.equal(t.cancelRequest(9), false, "cancelled once");
        await t.close();
        assert.equal(inbox.items.find((r) => r.msg.id === 9), undefined, "no stand-in reply for a cancelled request");
        assert.deepEqual(inbox.errors, []);
      },
    );
  });
});
