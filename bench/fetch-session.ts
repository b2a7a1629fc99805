// The raw-fetch Streamable HTTP client the CPU benches (eras, otel, shttp-upstream) share: one legacy
// session per worker, and the config of a bench gateway with one upstream line.

/** Headers of every POST. */
export const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Headers of a call on a legacy (2025-11-25) session. */
export const sessionHeaders = (sessionId: string) => ({ ...HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });

/** Opens an initialized 2025-11-25 session at `mcp`; resolves its id. */
export async function legacySession(mcp: string): Promise<string> {
  const r = await fetch(mcp, { method: 'POST', headers: HEADERS, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } }) });
  await r.text();
  const id = r.headers.get('mcp-session-id')!;
  await fetch(mcp, { method: 'POST', headers: sessionHeaders(id), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((x) => x.text());
  return id;
}

/** A bench gateway's config: dev profile, logs on stdout (the bench waits for "listening"), no rate limit; `extra` top-level lines. */
export const benchGatewayYaml = (upstreamLines: string[], extra: string[] = []) =>
  ['profile: dev', 'logging: { dir: "", stdout: true, level: info }', 'rate_limiting: { enabled: false }', ...extra, 'upstreams:', ...upstreamLines].join('\n');

/**
 * `concurrency` workers call back to back until `calls` ids are used or `limitMs` passed; `call(worker, id)`
 * says whether the answer was right. The measured loop of every CPU-per-call phase.
 */
export async function callLoop(concurrency: number, calls: number, limitMs: number, call: (worker: number, id: number) => Promise<boolean>): Promise<{ done: number; errors: number; ms: number }> {
  const started = Date.now();
  let nextId = 1;
  let done = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (nextId <= calls && Date.now() - started < limitMs) {
        if (await call(w, nextId++)) done++;
        else errors++;
      }
    }),
  );
  return { done, errors, ms: Date.now() - started };
}
