// The upstream of the large-payload scenario (bench/payload.ts): an SDK v1 McpServer over stdio with
// `big` (a text result of `mb` MiB, built once per size) or, with `--echo`, only `echo` (the other
// client's upstream: a separate child, so its answers do not queue behind the large one in the same pipe).
// With `--http` (and optionally `--json`, a JSON body instead of an SSE event) it is a stateful Streamable HTTP
// server on 127.0.0.1 (prints "listening <port>"): the HTTP upstream variant of the scenario.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const echoOnly = process.argv.includes('--echo');
const cache = new Map<number, string>();
function build(): McpServer {
const server = new McpServer({ name: echoOnly ? 'bench-echo' : 'bench-payload', version: '1.0.0' });
if (!echoOnly) server.registerTool('big', { description: 'a large text result', inputSchema: { mb: z.number().positive().max(64) } }, async ({ mb }) => {
  let text = cache.get(mb);
  if (text === undefined) cache.set(mb, (text = 'x'.repeat(Math.round(mb * 1024 * 1024))));
  return { content: [{ type: 'text', text }] };
});
if (echoOnly) server.registerTool('echo', { description: 'echo', inputSchema: { message: z.string() } }, async ({ message }) => ({
  content: [{ type: 'text', text: `Echo: ${message}` }],
}));
return server;
}

if (process.argv.includes('--http')) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const enableJsonResponse = process.argv.includes('--json');
  const httpServer = http.createServer(async (req, res) => {
    const sid = req.headers['mcp-session-id'] as string | undefined;
    const known = sid === undefined ? undefined : sessions.get(sid);
    if (known) return known.handleRequest(req, res);
    if (sid !== undefined || req.method !== 'POST') return void res.writeHead(sid !== undefined ? 404 : 405).end();
    const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ enableJsonResponse, sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, t) });
    await build().connect(t);
    await t.handleRequest(req, res);
  });
  httpServer.listen(0, '127.0.0.1', () => console.log(`listening ${(httpServer.address() as { port: number }).port}`));
} else {
  await build().connect(new StdioServerTransport());
}
