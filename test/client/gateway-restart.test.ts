// Client SDK across a gateway PROCESS restart: the gateway runs as a child
// process (`node --import tsx src/cli/main.ts start --config ... --port ...`),
// is killed (SIGKILL: a crash, in-memory sessions gone) and started again on
// the same port. The client must see the unknown session, fail the call in
// flight with a clear error, re-initialize transparently (restoring its
// subscription) and carry on.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import type { TransportKind } from "../../src/client/index.js";
import { connectClient, FIXTURE, nextEvent } from "./helpers/harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "client-restart-"));
const configFile = join(dir, "gateway.yaml");
writeFileSync(
  configFile,
  [
    "logging: { dir: '', stdout: true, level: info, format: text }",
    "rate_limiting: { enabled: false }",
    "upstreams:",
    "  - name: num",
    "    transport: stdio",
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: ["--import", "tsx", ${JSON.stringify(join(ROOT, FIXTURE))}]`,
    `    cwd: ${JSON.stringify(ROOT)}`,
    "",
  ].join("\n"),
);
const children = new Set<ChildProcess>();

after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Starts the gateway CLI; resolves once it says it is listening. */
async function startChild(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "start", "--config", configFile, "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let out = "";
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`gateway did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening on")) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => fail(new Error(`gateway exited ${code}: ${out}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
}

for (const kind of ["websocket", "streamable_http"] as TransportKind[]) {
  describe(`${kind}: gateway process restarted`, () => {
    test("call in flight fails clearly, the client re-initializes and carries on", async () => {
      const port = await freePort();
      let child = await startChild(port);
      const { client, transport, numbers } = await connectClient({ url: `http://127.0.0.1:${port}`, clientId: `restart-${kind}`, transports: [kind] });
      try {
        const first = transport.sessionId;
        await client.callTool({ name: "stream_updates", arguments: { count: 100 } });
        await numbers.until(100);

        const inFlight = client.callTool({ name: "slow", arguments: { ms: 10_000 } }, undefined, { timeout: 60_000 }).then(
          () => null,
          (err: unknown) => err,
        );
        // Let the call reach the gateway before the crash.
        await new Promise((r) => setTimeout(r, 200));
        const lost = nextEvent(transport, "session_lost", 30_000);
        let lostEvents = 0;
        transport.on("session_lost", () => lostEvents++);
        const retrying = nextEvent(transport, "reconnecting");
        await kill(child);
        await retrying; // the client notices and retries with backoff while the gateway is down
        child = await startChild(port);

        const info = (await lost) as { reinitializing: boolean; sessionId?: string };
        assert.equal(info.reinitializing, true);
        const err = await inFlight;
        assert.ok(err instanceof McpError, `the call in flight failed with an McpError: ${String(err)}`);
        assert.match(err.message, /session lost|connection.*lost/i);

        // Transparent re-initialize: same Client object, new session, subscription restored.
        const echo = (await client.callTool({ name: "echo", arguments: { text: "after restart" } })) as { content: Array<{ text: string }> };
        assert.equal(echo.content[0]!.text, "after restart");
        if (kind === "websocket") assert.notEqual(transport.sessionId, first);
        const again = (await client.callTool({ name: "stream_updates", arguments: { count: 1000, start: 101 } })) as { content: Array<{ text: string }> };
        assert.equal(again.content[0]!.text, "sent 1000", "the subscription was restored");
        await numbers.until(1100);
        assert.equal(numbers.received, 1100);
        assert.equal(lostEvents, 1, "one session_lost per lost session");
        assert.equal(numbers.outOfOrder, 0);
        assert.equal(numbers.duplicates, 0);
      } finally {
        await client.close();
        await kill(child);
      }
    });
  });
}
