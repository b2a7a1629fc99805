// The floor of any Node.js proxy: a plain L7 forwarder (node:http server, undici Pool with keep-alive to
// the upstream, the response streamed through as it arrives), with no MCP semantics at all. The bench
// runs it beside nginx in front of the same Streamable HTTP upstream, so the gateway's added latency and
// CPU can be read against what Node.js itself costs on this machine.
// Usage: node bench/node-proxy.mjs <port> <upstream origin>   (listens on 127.0.0.1:<port>)
import http from 'node:http';
import { Pool } from 'undici';

const [port, origin] = process.argv.slice(2);
const pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
// Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, not forwarded.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

function forwardable(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

const server = http.createServer(async (req, res) => {
  try {
    const up = await pool.request({ path: req.url, method: req.method, headers: forwardable(req.headers), body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req });
    res.writeHead(up.statusCode, forwardable(up.headers));
    for await (const chunk of up.body) res.write(chunk);
    res.end();
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(String(err?.message ?? err));
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
// Exit normally on a signal (the bench stops targets with SIGTERM; `--cpu-prof` writes its profile on exit).
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
