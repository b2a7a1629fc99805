/**
 * Issue 16: in front of a Streamable HTTP upstream the gateway used to open
 * one GET (with Last-Event-ID) per relayed call, and about one a second when
 * idle, making the upstream replay its event store each time. These tests put
 * real SDK Streamable HTTP servers behind the gateway, drive a bounded load
 * through it with SDK clients and count the upstream's GET requests: a handful
 * per upstream session, none of them a resume.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StreamableHTTPServerTransport, type EventStore } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { EVERYTHING, startTestGateway } from "../helpers/gateway.js";
import { buildMcpServer, closeHttp, listenLocal } from "../upstream/helpers.js";
import type { Gateway } from "../../src/gateway.js";

const CLIENTS = 4;
const CALLS_PER_CLIENT = 25;

/** What each upstream counts: sessions it created, GETs, and GETs that resumed with Last-Event-ID. */
interface GetCounts {
  sessions: number;
  gets: number;
  resumes: number;
}

/** An event store that replays only the resumed stream (what the SDK expects). */
class MemoryEventStore implements EventStore {
  #seq = 0;
  #events: Array<{ id: string; streamId: string; message: JSONRPCMessage }> = [];
  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = String(++this.#seq);
    this.#events.push({ id, streamId, message });
    return id;
  }
  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.#events.find((e) => e.id === eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId: string, { send }: { send: (id: string, m: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const i = this.#events.findIndex((e) => e.id === lastEventId);
    const streamId = this.#events[i]!.streamId;
    for (const e of this.#events.slice(i + 1)) if (e.streamId === streamId && Object.keys(e.message).length > 0) await send(e.id, e.message);
    return streamId;
  }
}

/** SDK v1 StreamableHTTPServerTransport with an event store (so every stream carries event ids), on 127.0.0.1:0. */
async function startSdkUpstream(): Promise<{ url: string; counts: GetCounts; close(): Promise<void> }> {
  const counts: GetCounts = { sessions: 0, gets: 0, resumes: 0 };
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers: Array<{ close(): Promise<void> }> = [];
  const httpServer = http.createServer(async (req, res) => {
    if (req.method === "GET") {
      counts.gets++;
      if (req.headers["last-event-id"] !== undefined) counts.resumes++;
    }
    const sid = req.headers["mcp-session-id"] as string | undefined;
    const existing = sid === undefined ? undefined : sessions.get(sid);
    if (existing) {
      await existing.handleRequest(req, res);
      return;
    }
    if (sid !== undefined || req.method !== "POST") {
      res.writeHead(sid === undefined ? 400 : 404).end();
      return;
    }
    const server = buildMcpServer(new EventEmitter(), { name: "sdk-upstream", logging: true });
    servers.push(server);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEventStore(),
      onsessioninitialized: (id) => {
        counts.sessions++;
        sessions.set(id, transport);
      },
      onsessionclosed: (id) => void sessions.delete(id),
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  const port = await listenLocal(httpServer);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    counts,
    async close() {
      for (const s of servers) await s.close().catch(() => {});
      await closeHttp(httpServer);
    },
  };
}

/** server-everything started with `streamableHttp` as a child process; counts come from its request log. */
async function startEverythingUpstream(): Promise<{ url: string; counts: GetCounts; close(): Promise<void> }> {
  const probe = http.createServer();
  const port = await listenLocal(probe);
  await closeHttp(probe);
  const child: ChildProcess = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const counts: GetCounts = { sessions: 0, gets: 0, resumes: 0 };
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith("Received MCP GET request")) counts.gets++;
      else if (line.startsWith("Client reconnecting with Last-Event-ID")) counts.resumes++;
      else if (line.startsWith("Session initialized")) counts.sessions++;
    }
  });
  let stderr = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      stderr += chunk.toString("utf8");
      if (stderr.includes("listening on port")) resolve();
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server-everything exited (${code}): ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    counts,
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** CLIENTS SDK clients through the gateway, CALLS_PER_CLIENT echo calls each, all at once; every answer checked. */
async function driveLoad(gatewayUrl: string, echoArgs: (text: string) => Record<string, string>): Promise<void> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const client = new Client({ name: `load-${c}`, version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp?client_id=load-${c}`)));
      return client;
    }),
  );
  try {
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < CALLS_PER_CLIENT; i++) {
          const text = `c${c}-${i}`;
          const r = await client.callTool({ name: "echo", arguments: echoArgs(text) });
          const content = r.content as Array<{ type: string; text: string }>;
          assert.ok(!r.isError, `call ${text} failed: ${JSON.stringify(r)}`);
          assert.ok(content[0]!.text.includes(text), `call ${text} got ${content[0]!.text}`);
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

function assertFewGets(counts: GetCounts, calls: number): void {
  assert.ok(counts.sessions >= 1, "the gateway opened an upstream session");
  assert.equal(counts.resumes, 0, `no GET resumed with Last-Event-ID (${JSON.stringify(counts)})`);
  // One standalone GET stream per upstream session (+1 leeway for a legitimate reconnect).
  assert.ok(counts.gets <= 2 * counts.sessions, `GETs ${counts.gets} for ${counts.sessions} session(s) and ${calls} calls`);
}

for (const kind of ["sdk-v1", "server-everything"] as const) {
  describe(`gateway in front of a Streamable HTTP upstream (${kind})`, () => {
    let upstream: { url: string; counts: GetCounts; close(): Promise<void> };
    let gateway: Gateway;
    let url: string;

    before(async () => {
      upstream = kind === "sdk-v1" ? await startSdkUpstream() : await startEverythingUpstream();
      ({ gateway, url } = await startTestGateway({
        rate_limiting: { enabled: false },
        upstreams: [{ name: "up", transport: "streamable_http", url: upstream.url }],
      }));
    });

    after(async () => {
      await gateway?.close();
      await upstream?.close();
    });

    test(`${CLIENTS * CALLS_PER_CLIENT} relayed calls open a handful of upstream GETs, not one per call`, async () => {
      await driveLoad(url, kind === "sdk-v1" ? (text) => ({ text }) : (message) => ({ message }));
      assertFewGets(upstream.counts, CLIENTS * CALLS_PER_CLIENT);
    });

    test("an idle session does not reconnect its GET stream", async () => {
      const before = upstream.counts.gets;
      // Absence can only be observed over time: the old loop reconnected every ~1 s when idle.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(upstream.counts.gets, before);
      assertFewGets(upstream.counts, CLIENTS * CALLS_PER_CLIENT);
    });
  });
}
