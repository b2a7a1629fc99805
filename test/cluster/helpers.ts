/**
 * Helpers for the cluster tests: gateway nodes as real child processes
 * (`node --import tsx src/cli/main.ts start --config <yaml> --port 0`), a
 * private redis-server, a raw SSE reader, and key cleanup under a per-run
 * prefix so runs never collide on the shared Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";
import { Redis } from "ioredis";
import { testRedis } from "../helpers/redis.js";

/** The Redis these tests share: a private redis-server started for this test process (test/helpers/redis.ts). */
const sharedRedis = await testRedis();
export const SHARED_REDIS = sharedRedis.url;
/** Why the Redis tests are skipped (no redis-server binary), or false. */
export const REDIS_SKIP = sharedRedis.skip;

/** A unique key prefix for one test run. */
export function testPrefix(name: string): string {
  return `mcpgw-test:${name}:${randomBytes(4).toString("hex")}`;
}

/** The fixture streaming numbered notifications (stream_numbers, echo, slow). */
export function numberedUpstream() {
  return { name: "num", transport: "stdio", command: process.execPath, args: ["--import", "tsx", "test/fixtures/numbered-stream-server.ts"] };
}

/** A running gateway node (child process). */
export interface Node {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it printed (for failure messages). */
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const tmp = mkdtempSync(join(tmpdir(), "mcpgw-cluster-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

/** Starts one gateway node with `config` (merged over quiet test defaults); resolves once it listens. */
export async function startNode(name: string, config: Record<string, unknown>, timeoutMs = 45_000): Promise<Node> {
  const file = join(tmp, `${name}-${randomBytes(3).toString("hex")}.yaml`);
  const full = {
    profile: "dev",
    logging: { dir: "", stdout: true, level: "info", format: "text" },
    backpressure: { medium_pending: 100_000, high_pending: 200_000 },
    ...config,
    cluster: { node_id: name, heartbeat_interval: 300, node_timeout: 1500, ...(config.cluster as object) },
  };
  writeFileSync(file, stringify(full));
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "start", "--config", file, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"], cwd: process.cwd() });
  let out = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${name} did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (d: string) => {
      out += d;
      const m = /listening on (http:\/\/[^\s"]+)\/mcp/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: string) => (out += d));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited (${code}) before listening:\n${out}`));
    });
  });
  // Keep draining its output so the pipe never fills.
  return {
    name,
    url,
    port: Number(new URL(url).port),
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 8000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A private redis-server (never stop the shared one). */
export async function startRedis(port: number): Promise<{ stop(): Promise<void>; child: ChildProcess }> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout!.on("data", (d: string) => {
      out += d;
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", () => reject(new Error(`redis-server exited:\n${out}`)));
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Deletes every key under `prefix` (bounded scan). */
export async function purge(redisUrl: string, prefix: string): Promise<void> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    for (let i = 0; i < 1000; i++) {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      if (keys.length) await r.del(...keys);
      cursor = next;
      if (cursor === "0") break;
    }
  } finally {
    r.disconnect();
  }
}

/** One server-sent event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A raw SSE connection: events as they arrive, and a way to wait for one. */
export class SseReader {
  readonly events: SseEvent[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  #req?: http.ClientRequest;
  #res?: http.IncomingMessage;
  #waiters: Array<() => void> = [];
  ended = false;

  /** Opens `url` (GET, or POST of `body` as JSON) with `headers`; resolves when the response head arrived. */
  async open(url: string, headers: Record<string, string> = {}, body?: unknown): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      const method = body === undefined ? "GET" : "POST";
      const extra: Record<string, string> = body === undefined ? {} : { "content-type": "application/json", accept: "application/json, text/event-stream" };
      this.#req = http.request(url, { method, headers: { accept: "text/event-stream", ...extra, ...headers } }, (res) => {
        this.#res = res;
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding("utf8");
        let buf = "";
        res.on("data", (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf("\n\n")) !== -1) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev: SseEvent = { event: "message", data: "" };
            let hasData = false;
            for (const line of block.split("\n")) {
              if (line.startsWith("id: ")) ev.id = line.slice(4);
              else if (line.startsWith("event: ")) ev.event = line.slice(7);
              else if (line.startsWith("data: ")) {
                ev.data += line.slice(6);
                hasData = true;
              }
            }
            if (hasData) this.events.push(ev);
            this.#wake();
          }
        });
        const end = () => {
          this.ended = true;
          this.#wake();
        };
        res.on("end", end);
        res.on("close", end);
        res.on("error", end);
        resolve();
      });
      this.#req.on("error", (err) => {
        this.ended = true;
        this.#wake();
        reject(err);
      });
      this.#req.end(body === undefined ? undefined : JSON.stringify(body));
    });
    return this;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds over the events (or the stream ends / time runs out). */
  async waitFor(pred: (events: SseEvent[]) => boolean, timeoutMs = 10_000, what = "event"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      if (this.ended) throw new Error(`stream ended while waiting for ${what}; got ${JSON.stringify(this.events.slice(-5))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.events.length} events, last ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Messages (JSON-RPC) received as `message` events, parsed. */
  messages(): Array<{ seq: number; msg: any }> {
    return this.events.filter((e) => e.event === "message" && e.data).map((e) => ({ seq: Number(e.id), msg: JSON.parse(e.data) }));
  }

  close(): void {
    this.#res?.destroy();
    this.#req?.destroy();
  }
}

/** POSTs a JSON body; returns status, headers and the parsed body (when JSON). */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const r = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

/** The initialize request a raw client sends. */
export function initialize(id: number | string = 0) {
  return { jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cluster-test", version: "1.0.0" } } };
}

/** Polls `check` until it returns a value (bounded in count and time; for state that has no event to await across processes). */
export async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}
