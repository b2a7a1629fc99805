/**
 * Upstream processes for the era matrix: server-everything (SDK v1) and the
 * SDK v2 fixture, over stdio and Streamable HTTP, all real child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { EVERYTHING } from "../helpers/gateway.js";

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
