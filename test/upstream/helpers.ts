/**
 * Shared pieces of the upstream transport tests (Streamable HTTP, legacy SSE,
 * WebSocket): an inbox that collects what a transport delivers, the SDK MCP
 * server every upstream test serves, and the by-hand MCP handshake.
 */
import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
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

/** initialize + notifications/initialized by hand; resolves with the initialize reply. */
export async function handshake(
  t: Pick<Transport, "send">,
  inbox: Inbox,
  protocolVersion: string,
  id: JsonRpcId = 0,
): Promise<Received> {
  t.send({ jsonrpc: "2.0", id, method: "initialize", params: initParams(protocolVersion) });
  const init = await inbox.reply(id);
  t.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return init;
}
