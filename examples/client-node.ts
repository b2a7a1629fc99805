/**
 * Calls a tool through a gateway with the client SDK (Node).
 *
 *   npm start                                   # a gateway on http://127.0.0.1:4000
 *   node --import tsx examples/client-node.ts [gateway-url] [tool] [json-arguments]
 *   node --import tsx examples/client-node.ts http://127.0.0.1:4000 echo '{"message":"hi"}'
 *
 * Exits 1 when the call fails or the tool answers `isError` (e.g. wrong arguments).
 *
 * In an application, import the published entry instead of the source:
 *   import { GatewayClient } from "mcp-gateway/client";
 *
 * Environment: MCP_GATEWAY_TOKEN (a bearer token, when the gateway has auth on),
 * MCP_CLIENT_ID (the dev profile's self-chosen client id).
 */
import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { GatewayClient, type WebSocketConstructor } from "../src/client/index.js";

const [url = "http://127.0.0.1:4000", tool = "echo", rawArgs = '{"message":"hello from the client SDK"}'] = process.argv.slice(2);

const transport = new GatewayClient({
  url,
  clientId: process.env.MCP_CLIENT_ID ?? "example-client",
  // Node 20 has no global WebSocket: hand it the ws package's.
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  // Preference order; after 3 failures on one the client moves to the next and resumes the session.
  transports: ["websocket", "http_sse", "streamable_http"],
  token: process.env.MCP_GATEWAY_TOKEN,
});
transport.on("open", (e) => console.error(`[gateway] open over ${e.transport}${e.resumed ? " (resumed)" : ""}, session ${e.sessionId ?? "-"}`));
transport.on("reconnecting", (e) => console.error(`[gateway] reconnecting over ${e.transport} in ${e.delayMs} ms: ${e.reason}`));
transport.on("transport_switch", (e) => console.error(`[gateway] switching ${e.from} -> ${e.to}: ${e.reason}`));
transport.on("gap", (e) => console.error(`[gateway] gap ${e.from}..${e.to} (${e.action})`));
transport.on("error", (e) => console.error(`[gateway] error ${e.code}: ${e.message}`));

const client = new Client({ name: "client-sdk-example", version: "1.0.0" });
try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  console.error(`[gateway] ${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);
  const result = await client.callTool({ name: tool, arguments: JSON.parse(rawArgs) });
  if (result.isError) {
    // A tool error is an answer, not an exception: still a failure for this program.
    console.error(`tool error: ${JSON.stringify(result.content)}`);
    process.exitCode = 1;
  } else console.log(JSON.stringify(result.content));
} catch (err) {
  console.error(`failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
