// A trivial, fast Streamable HTTP MCP upstream for bench/shttp-upstream.ts: answers every JSON-RPC
// request at once, as an SSE event (default) or an application/json body (argv[2] === "json").
// With argv[2] === "stdio" the same answers go over stdin/stdout, newline-delimited: the stdio path to compare.
// Usage: node bench/shttp-upstream-server.mjs [sse|json|stdio]  (prints "listening <port>" unless stdio)
import http from 'node:http';
import { createInterface } from 'node:readline';

const mode = ['json', 'stdio'].includes(process.argv[2]) ? process.argv[2] : 'sse';
const TOOL = { name: 'echo', description: 'echo', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } };
let sessions = 0;

function result(msg) {
  switch (msg.method) {
    case 'initialize':
      return { protocolVersion: msg.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'fast', version: '1' } };
    case 'tools/list':
      return { tools: [TOOL] };
    case 'tools/call':
      return { content: [{ type: 'text', text: String(msg.params?.arguments?.message ?? '') }] };
    case 'resources/list':
      return { resources: [] };
    case 'resources/templates/list':
      return { resourceTemplates: [] };
    case 'prompts/list':
      return { prompts: [] };
    default:
      return {};
  }
}

if (mode === 'stdio') {
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.length === 0) return;
    const msg = JSON.parse(line);
    if (msg.id === undefined || msg.method === undefined) return;
    const reply = msg.method === 'server/discover'
      ? { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }
      : { jsonrpc: '2.0', id: msg.id, result: result(msg) };
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
}

const server = mode === 'stdio' ? undefined : http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const msg = JSON.parse(Buffer.concat(chunks).toString());
    if (msg.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    const headers = {};
    if (msg.method === 'initialize') headers['mcp-session-id'] = `s${++sessions}`;
    const reply = msg.method === 'server/discover'
      ? { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } }
      : { jsonrpc: '2.0', id: msg.id, result: result(msg) };
    if (mode === 'json') {
      headers['content-type'] = 'application/json';
      res.writeHead(200, headers).end(JSON.stringify(reply));
    } else {
      headers['content-type'] = 'text/event-stream';
      headers['cache-control'] = 'no-cache';
      res.writeHead(200, headers).end(`event: message\ndata: ${JSON.stringify(reply)}\n\n`);
    }
  });
});
if (server) {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}
