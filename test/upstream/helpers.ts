/**
 * Shared pieces of the upstream transport tests (Streamable HTTP, legacy SSE,
 * WebSocket): an inbox that collects what a transport delivers, the SDK MCP
 * server every upstream test serves, and the by-hand MCP handshake.
 */
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { once, type EventEmitter } from "node:events";
import type http from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CreateMessageResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { JsonRpcId, JsonRpcMessage } from "../../src/protocol/jsonrpc.js";
import type { MessageExtra, Transport } from "../../src/protocol/transport.js";

/** One delivered message and its `extra`. */
export type Received = { msg: JsonRpcMessage & Record<string, any>; extra?: MessageExtra };

/** Collects what a transport delivers and lets a test await a matching message or error. */
export class Inbox {
  readonly items: Received[] = [];
  readonly errors: Error[] = [];
  #waiters: Array<{ pred: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  #errWaiters: Array<(e: Error) => void> = [];

  attach(t: Pick<Transport, "onmessage" | "onerror">): this {
    t.onmessage = (msg, extra) => this.#push({ msg: msg as Received["msg"], extra });
    t.onerror = (err) => {
      this.errors.push(err);
      for (const w of this.#errWaiters.splice(0)) w(err);
    };
    return this;
  }

  #push(r: Received): void {
    this.items.push(r);
    const i = this.#waiters.findIndex((w) => w.pred(r));
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(r);
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  wait(pred: (r: Received) => boolean, what = "message", timeoutMs = 5000): Promise<Received> {
    const seen = this.items.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
      });
    });
  }

  reply(id: JsonRpcId): Promise<Received> {
    return this.wait((r) => r.msg.id === id && r.msg.method === undefined, `reply to ${id}`);
  }

  /** Resolves with the first error (already reported or future) matching `pred`. */
  error(pred: (e: Error) => boolean = () => true): Promise<Error> {
    const seen = this.errors.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const check = (e: Error): void => {
        if (pred(e)) resolve(e);
        else this.#errWaiters.push(check);
      };
      this.#errWaiters.push(check);
    });
  }
}

/** What {@link buildMcpServer} serves beyond echo, sample and never. */
export interface McpServerOptions {
  /** `serverInfo.name`. */
  name: string;
  /** Declare the `logging` capability. */
  logging?: boolean;
  /** Add the `interrupt` tool, which closes its own SSE stream mid-call (needs resumability). */
  interrupt?: boolean;
}

/**
 * The upstream MCP server under test: echo, sample (progress + sampling),
 * never (emits `never-started` on `events` and never answers), and optionally
 * interrupt.
 */
export function buildMcpServer(events: EventEmitter, opts: McpServerOptions): McpServer {
  const server = new McpServer(
    { name: opts.name, version: "1.0.0" },
    opts.logging ? { capabilities: { logging: {} } } : undefined,
  );
  server.registerTool("echo", { description: "echo", inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool("sample", { description: "progress + sampling", inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const token = extra._meta?.progressToken;
    if (token !== undefined) {
      await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 2 } });
    }
    const r = await extra.sendRequest(
      {
        method: "sampling/createMessage",
        params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 16 },
      },
      CreateMessageResultSchema,
    );
    const text = r.content.type === "text" ? r.content.text : "?";
    return { content: [{ type: "text", text: `sampled: ${text}` }] };
  });
  if (opts.interrupt) {
    server.registerTool("interrupt", { description: "closes its SSE stream mid-call" }, async (extra) => {
      assert.ok(extra.closeSSEStream, "resumability must be on");
      extra.closeSSEStream();
      await extra.sendNotification({ method: "notifications/message", params: { level: "info", data: "after close" } });
      return { content: [{ type: "text", text: "survived" }] };
    });
  }
  server.registerTool("never", { description: "never answers" }, async () => {
    events.emit("never-started");
    return new Promise(() => {});
  });
  return server;
}

/** `initialize` params of a client that offers sampling. */
export function initParams(protocolVersion: string): Record<string, unknown> {
  return {
    protocolVersion,
    capabilities: { sampling: {} },
    clientInfo: { name: "gateway-test", version: "0.0.0" },
  };
}

/** initialize + notifications/initialized by hand, as `handshake(transport, inbox, id?)`; resolves with the initialize reply. */
export type Handshake = (t: Pick<Transport, "send">, inbox: Inbox, id?: JsonRpcId) => Promise<Received>;

/** A {@link Handshake} that offers `protocolVersion` and uses `defaultId` unless given another id. */
export function handshakeWith(protocolVersion: string, defaultId: JsonRpcId = 0): Handshake {
  const params = initParams(protocolVersion);
  return async (t, inbox, id = defaultId) => {
    t.send({ jsonrpc: "2.0", id, method: "initialize", params });
    const init = await inbox.reply(id);
    t.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return init;
  };
}

/**
 * Runs the `sample` tool as request `id` with a progress token: checks the
 * progress notification, answers the server's sampling request with "pong"
 * and checks the tool's result. Returns the progress and sampling messages so
 * the caller can check how its wire related them to the request.
 */
export async function sampleRoundTrip(
  t: Pick<Transport, "send">,
  inbox: Inbox,
  id: JsonRpcId,
  progressToken: string | number,
): Promise<{ progress: Received; sampling: Received }> {
  t.send({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "sample", arguments: { prompt: "ping" }, _meta: { progressToken } },
  });
  const progress = await inbox.wait((r) => r.msg.method === "notifications/progress", "progress");
  assert.equal(progress.msg.params.progressToken, progressToken);
  const sampling = await inbox.wait((r) => r.msg.method === "sampling/createMessage", "sampling request");
  assert.equal(sampling.msg.params.messages[0].content.text, "ping");
  t.send({
    jsonrpc: "2.0",
    id: sampling.msg.id,
    result: { role: "assistant", content: { type: "text", text: "pong" }, model: "test-model" },
  });
  assert.deepEqual((await inbox.reply(id)).msg.result.content, [{ type: "text", text: "sampled: pong" }]);
  return { progress, sampling };
}

/**
 * Registers `before`/`after` hooks in the calling suite that start an upstream
 * with `start` and close it at the end. Returns an object that `before` fills
 * with the upstream's fields, so tests read it like the upstream itself.
 */
export function useUpstream<T extends { close(): Promise<void> }>(start: () => Promise<T>): T {
  const up = {} as T;
  before(async () => {
    Object.assign(up, await start());
  });
  after(async () => {
    await up.close();
  });
  return up;
}

/** Listens on 127.0.0.1:0 and resolves with the port. */
export async function listenLocal(server: http.Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

/** Drops every connection (SSE streams never end on their own) and closes the server. */
export async function closeHttp(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** A port nothing listens on. */
export async function deadPort(): Promise<number> {
  const s = createServer();
  const port = await listenLocal(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The SDK servers' answer to an unknown session id: 404 with a JSON-RPC error body. */
export function sessionNotFound(res: http.ServerResponse): void {
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
}
