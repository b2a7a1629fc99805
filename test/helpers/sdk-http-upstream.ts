// A real SDK v1 Streamable HTTP upstream on 127.0.0.1:0, one server per
// session, for tests that need an upstream the project did not write.
import http from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport, type StreamableHTTPServerTransportOptions } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

/** A running SDK Streamable HTTP upstream. */
export interface SdkHttpUpstream {
  url: string;
  port: number;
  /** Live sessions by id (the server and its transport). */
  sessions: Map<string, { server: Server | McpServer; transport: StreamableHTTPServerTransport }>;
  close(): Promise<void>;
}

/**
 * Starts `build()` behind the SDK's StreamableHTTPServerTransport, stateful
 * (a new server for every initialize). `transport` options are passed on
 * (eventStore, retryInterval, enableJsonResponse).
 */
export async function startSdkHttpUpstream(
  build: () => Server | McpServer,
  transport: Omit<StreamableHTTPServerTransportOptions, "sessionIdGenerator"> = {},
): Promise<SdkHttpUpstream> {
  const sessions: SdkHttpUpstream["sessions"] = new Map();
  const httpServer = http.createServer(async (req, res) => {
    const sid = req.headers["mcp-session-id"] as string | undefined;
    if (sid !== undefined) {
      const s = sessions.get(sid);
      if (!s) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
        return;
      }
      await s.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(400).end();
      return;
    }
    const server = build();
    const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      ...transport,
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, { server, transport: t }),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    await server.connect(t);
    await t.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    sessions,
    async close() {
      for (const s of sessions.values()) await s.server.close().catch(() => {});
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 that refuses connections (bound once, then closed). */
export async function refusingPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
