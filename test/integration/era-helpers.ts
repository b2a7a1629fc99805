/**
 * Upstream processes for the era matrix: server-everything (SDK v1) and the
 * SDK v2 fixture, over stdio and Streamable HTTP, all real child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { EVERYTHING, everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import type { Gateway } from "../../src/gateway.js";

/** A running HTTP upstream child and its MCP URL. */
export interface HttpChild {
  url: string;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, "exit");
  child.kill("SIGTERM");
  await gone;
}

/** Resolves with the first line of `stream` matching `re`, or rejects when the child exits first. */
function waitLine(child: ChildProcess, stream: NodeJS.ReadableStream, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = buf.match(re);
      if (m) {
        stream.off("data", onData);
        child.off("exit", onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`upstream child exited (${code}) before printing ${re}: ${buf}`));
    stream.on("data", onData);
    child.once("exit", onExit);
  });
}

/** A free port on 127.0.0.1 (server-everything takes its port from PORT only). */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** server-everything (SDK v1) over Streamable HTTP. */
export async function everythingHttp(): Promise<HttpChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  await waitLine(child, child.stderr!, /listening on port (\d+)/);
  return { url: `http://127.0.0.1:${port}/mcp`, stop: () => stopChild(child) };
}

/** The SDK v2 fixture over Streamable HTTP, modern-only or dual-era. */
export async function v2Http(era: "modern" | "dual"): Promise<HttpChild> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/v2-server.ts", "--transport", "http", "--era", era], { stdio: ["ignore", "pipe", "inherit"] });
  const m = await waitLine(child, child.stdout!, /PORT (\d+)/);
  return { url: `http://127.0.0.1:${m[1]}/mcp`, stop: () => stopChild(child) };
}

/** A stdio upstream entry running the SDK v2 fixture. */
export function v2StdioUpstream(name: string, era: "modern" | "dual", extra: Record<string, unknown> = {}) {
  return { name, transport: "stdio" as const, command: process.execPath, args: ["--import", "tsx", "test/fixtures/v2-server.ts", "--transport", "stdio", "--era", era], ...extra };
}

/** The six-upstream gateway both era-matrix halves run against, and its children. */
export interface EraMatrix {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

/**
 * A gateway (`routing.prefix: always`, no rate limits) in front of six
 * upstreams: SDK v1 server-everything (`v1s` stdio, `v1h` Streamable HTTP) and
 * the SDK v2 fixture modern-only (`v2ms`, `v2mh`) and dual-era (`v2ds`, `v2dh`),
 * resolved once every replica is ready.
 */
export async function startEraMatrix(): Promise<EraMatrix> {
  const children = await Promise.all([everythingHttp(), v2Http("modern"), v2Http("dual")]);
  const [v1h, v2mh, v2dh] = children;
  const { gateway, url } = await startTestGateway({
    routing: { prefix: "always" },
    rate_limiting: { enabled: false },
    upstreams: [
      everythingUpstream("v1s"),
      { name: "v1h", transport: "streamable_http", url: v1h.url },
      v2StdioUpstream("v2ms", "modern"),
      { name: "v2mh", transport: "streamable_http", url: v2mh.url },
      v2StdioUpstream("v2ds", "dual"),
      { name: "v2dh", transport: "streamable_http", url: v2dh.url },
    ],
  });
  const close = async () => {
    await gateway.close();
    await Promise.all(children.map((c) => c.stop()));
  };
  // On a loaded machine a child may miss its first handshake; every row needs all six upstreams up.
  for (const group of gateway.manager.groups.values()) {
    if (!(await group.replicas[0]!.waitReady(90_000))) {
      await close();
      throw new Error(`${group.name} never became ready`);
    }
  }
  return { gateway, url, close };
}
