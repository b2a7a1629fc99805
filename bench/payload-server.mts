// The upstream of the large-payload scenario (bench/payload.ts): an SDK v1 McpServer over stdio with
// `big` (a text result of `mb` MiB, built once per size) or, with `--echo`, only `echo` (the other
// client's upstream: a separate child, so its answers do not queue behind the large one in the same pipe).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const echoOnly = process.argv.includes('--echo');
const server = new McpServer({ name: echoOnly ? 'bench-echo' : 'bench-payload', version: '1.0.0' });
const cache = new Map<number, string>();
if (!echoOnly) server.registerTool('big', { description: 'a large text result', inputSchema: { mb: z.number().positive().max(64) } }, async ({ mb }) => {
  let text = cache.get(mb);
  if (text === undefined) cache.set(mb, (text = 'x'.repeat(Math.round(mb * 1024 * 1024))));
  return { content: [{ type: 'text', text }] };
});
if (echoOnly) server.registerTool('echo', { description: 'echo', inputSchema: { message: z.string() } }, async ({ message }) => ({
  content: [{ type: 'text', text: `Echo: ${message}` }],
}));
await server.connect(new StdioServerTransport());
