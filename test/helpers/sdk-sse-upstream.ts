// A real SDK v1 HTTP+SSE (2024-11-05) upstream on 127.0.0.1:0: GET /sse opens a session,
// POST /messages?sessionId= feeds it. One server per session, built by `build()`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";

export interface SdkSseUpstream {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startSdkSseUpstream(build: () => McpServer): Promise<SdkSseUpstream> {
  const sessions = new Map<string, SSEServerTransport>();
  const httpServer = http.createServer(async (req, res) => {
    const url = new URL(req.url!, "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/sse") {
      const transport = new SSEServerTransport("/messages", res);
      sessions.set(transport.sessionId, transport);
      res.on("close", () => sessions.delete(transport.sessionId));
      await build().connect(transport);
      return;
    }
    const transport = req.method === "POST" && url.pathname === "/messages" ? sessions.get(url.searchParams.get("sessionId") ?? "") : undefined;
    if (!transport) {
      res.writeHead(404).end();
      return;
    }
    await transport.handlePostMessage(req, res);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/sse`,
    port,
    close: () => new Promise<void>((resolve) => {
      httpServer.closeAllConnections();
      httpServer.close(() => resolve());
    }),
  };
}
