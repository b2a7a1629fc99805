// The browser build of the client SDK (esbuild bundle of src/client/browser.ts,
// what `npm run build:client` writes to dist/client/browser.js) in headless
// Chromium, driven by playwright-core: it connects to a local gateway over
// each transport and calls a tool. The page is served from the gateway's own
// origin (test routes on its router), so Origin checks pass without CORS.
// Skipped, saying why, when /usr/bin/chromium is not installed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { build } from "esbuild";
import type { Browser } from "playwright-core";
import type { Gateway } from "../../src/gateway.js";
import { startTestGateway } from "./helpers/harness.js";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "../..");
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
if (skip) console.log(`# browser test skipped: ${skip}`);

/** Runs in the page: each transport, raw JSON-RPC through the bundle's GatewayClient. */
const PAGE_SCRIPT = `(async () => {
  const { GatewayClient } = await import("/client-test/browser.js");
  const out = {};
  for (const kind of ["websocket", "http_sse", "streamable_http"]) {
    const transport = new GatewayClient({ url: location.origin, clientId: "browser-" + kind, transports: [kind] });
    const waiting = new Map();
    transport.onmessage = (m) => { if (m.id !== undefined) waiting.get(m.id)?.(m); };
    let next = 1;
    const call = (method, params) => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      void transport.send({ jsonrpc: "2.0", id, method, params });
    });
    const opened = [];
    transport.on("open", (e) => opened.push(e));
    await transport.start();
    const init = await call("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "browser", version: "1" } });
    await transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const echo = await call("tools/call", { name: "echo", arguments: { text: "hello from " + kind } });
    out[kind] = { server: init.result?.serverInfo?.name, text: echo.result?.content?.[0]?.text, transport: transport.transport, opened: opened.length };
    await transport.close();
  }
  return out;
})()`;

let gateway: Gateway;
let url: string;
let browser: Browser | undefined;
let bundle = "";

before(async () => {
  if (skip) return;
  const out = await build({
    entryPoints: [resolve(ROOT, "src/client/browser.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  bundle = out.outputFiles[0]!.text;
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/, "no Node-only imports in the browser build");
  ({ gateway, url } = await startTestGateway());
  gateway.router.on("GET", "/client-test/", (_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>client sdk</title><p>client sdk test</p>");
  });
  gateway.router.on("GET", "/client-test/browser.js", (_req, res) => {
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(bundle);
  });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
});

after(async () => {
  await browser?.close();
  await gateway?.close();
});

test("the browser build connects from headless Chromium and calls a tool", { skip }, async () => {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${url}/client-test/`);
  // A string, not a function: tsx would add helpers (__name) the page does not have.
  const results = (await page.evaluate(PAGE_SCRIPT)) as Record<string, unknown>;
  assert.deepEqual(errors, []);
  for (const kind of ["websocket", "http_sse", "streamable_http"]) {
    assert.deepEqual(results[kind], { server: "mcp-gateway", text: `hello from ${kind}`, transport: kind, opened: 1 }, kind);
  }
  await page.close();
});
