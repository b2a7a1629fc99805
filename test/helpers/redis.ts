/**
 * A Redis for the tests that need one, without a running service: a private
 * `redis-server` on a free loopback port, started once per test process
 * (node --test runs each file in its own process) and killed when it exits.
 * No binary: `skip` holds the reason, printed once, and the tests skip with it.
 * MCP_GATEWAY_TEST_REDIS=<url> uses an existing Redis instead.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";

/** Where the tests' Redis is, or why there is none. */
export type TestRedis = { url: string; skip: false } | { url: string; skip: string };

let started: Promise<TestRedis> | undefined;
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A URL nothing answers on, for code that builds Redis clients while its tests are skipped. */
const NOWHERE = "redis://127.0.0.1:1";

async function start(): Promise<TestRedis> {
  const given = process.env.MCP_GATEWAY_TEST_REDIS;
  if (given) return { url: given, skip: false };
  if (spawnSync("redis-server", ["--version"]).error) {
    const skip = "redis-server not installed (apt-get install -y redis-server): tests needing Redis are skipped";
    console.log(`# skip: ${skip}`);
    return { url: NOWHERE, skip };
  }
  const port = await freePort();
  child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  process.once("exit", () => child?.kill("SIGKILL"));
  let out = "";
  child.stdout!.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    child!.stdout!.on("data", (d: string) => {
      out += d;
      if (out.includes("Ready to accept connections")) resolve();
    });
    child!.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
  });
  // The test process must be able to end while the server runs: it is killed on exit.
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
  return { url: `redis://127.0.0.1:${port}`, skip: false };
}

/** The tests' Redis (started on first call). */
export function testRedis(): Promise<TestRedis> {
  return (started ??= start());
}
