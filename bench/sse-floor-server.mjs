// A bare node:http server that holds every GET as an idle SSE response with the gateway's SSE headers (bench/sse-floor.ts):
// what Node's own HTTP connection costs, with no MCP and no gateway code. Prints its port; `GET /rss` answers its RSS.
import http from 'node:http';

const held = new Set();
const server = http.createServer((req, res) => {
  if (req.url === '/rss') {
    res.end(String(process.memoryUsage().rss));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no', 'mcp-session-id': crypto.randomUUID() });
  res.write('retry: 1000\n\n');
  res.flushHeaders();
  held.add(res);
  res.on('close', () => held.delete(res));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
