// The live console in real headless Chromium (playwright-core, Debian's chromium):
// the bundle built as `npm run build` builds it, a gateway with server-everything
// (two stdio replicas), SDK and WebSocket clients calling tools meanwhile. Every
// wait is on DOM state (waitForSelector / waitForFunction) with a bound, never a sleep.
// Skipped, saying why, when /usr/bin/chromium is not installed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import type { Gateway } from "../../src/gateway.js";
import type { StdioUpstreamTransport } from "../../src/upstream/transports/stdio.js";
import { everythingUpstream, startTestGateway } from "../helpers/gateway.js";
import { startTraffic } from "./traffic.js";
import { WsClient } from "../helpers/ws-client.js";
import { buildConsole } from "../../scripts/build-console.mjs";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "console-test-admin-token";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
if (skip) console.log(`# console browser test skipped: ${skip}`);

let gateway: Gateway;
let url: string;
let browser: Browser | undefined;
let page: Page;
let traffic: Awaited<ReturnType<typeof startTraffic>> | undefined;

/** Puts a token (or none) in the tab's sessionStorage, as the token dialog does. */
async function setToken(token: string | null): Promise<void> {
  await page.evaluate((t) => {
    if (t === null) sessionStorage.removeItem("mcp-gateway.console.admin-token");
    else sessionStorage.setItem("mcp-gateway.console.admin-token", t);
    sessionStorage.setItem("mcp-gateway.console.operator", "test-operator");
  }, token);
}

async function go(hash: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
}

before(async () => {
  if (skip) return;
  const sizes = await buildConsole();
  const bundle = readFileSync(new URL("../../dist/dashboard/console.js", import.meta.url), "utf8");
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/, "no Node-only imports in the console bundle");
  console.log(`console bundle: ${JSON.stringify(sizes)}`);
  ({ gateway, url } = await startTestGateway({
    admin: { token: TOKEN },
    // Kept open once tripped (no half-open probe during the test): the reset is what closes it.
    circuit_breaker: { failure_threshold: 3, reset_timeout: 600_000 },
    rate_limiting: { default_limit: 100_000 },
    upstreams: [everythingUpstream("everything", { replicas: 2 })],
  }));
  traffic = await startTraffic(url, { http: 2, sse: 1, ws: 1, paceMs: 50, failEvery: 10, prefix: "live" });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => console.log(`# page error: ${e.message}`));
  await page.goto(`${url}/dashboard#/overview`);
  await setToken(TOKEN);
  await page.reload();
});

after(async () => {
  await traffic?.stop();
  await browser?.close();
  await gateway?.close();
});

test("the pages render with live traffic", { skip }, async () => {
  await page.waitForSelector("#link.l-live", { timeout: 10_000 });
  // Overview: connections and calls counted, charts drawn from the stream.
  await page.waitForFunction(() => /Connections\s*[1-9]/.test(document.querySelector("#kpis")?.textContent ?? ""), undefined, { timeout: 10_000 });
  await page.waitForFunction(() => !/Calls\/s0\.00/.test(document.querySelector("#kpis")?.textContent ?? "Calls/s0.00"), undefined, { timeout: 10_000 });
  assert.ok((await page.locator(".chart canvas").count()) >= 10, "the overview draws its charts");
  // Upstreams: both replicas ready, breakers closed, ring and catalogue shown.
  await go("#/upstreams");
  await page.waitForSelector('[data-replica="everything#0"] .s-ready', { timeout: 10_000 });
  await page.waitForSelector('[data-replica="everything#1"] .s-ready');
  assert.equal(await page.locator('[data-breaker="everything#0"] .s-closed').count(), 1);
  assert.match((await page.textContent('[data-upstream="everything"] details.catalogue summary')) ?? "", /Catalogue: [1-9]\d* tools/);
  // Clients: the list (admin API with the token), then one client's page with its trace.
  await go("#/clients");
  await page.waitForSelector('table.clients a[href="#/clients/live-http-0"]', { timeout: 10_000 });
  await page.fill("#client-search", "live-ws");
  await page.waitForFunction(() => [...document.querySelectorAll("table.clients tbody a")].every((a) => a.textContent!.includes("live-ws")), undefined, { timeout: 5000 });
  await go("#/clients/live-http-0");
  await page.waitForFunction(() => /Trace \([1-9]/.test(document.querySelector("#client")?.textContent ?? ""), undefined, { timeout: 10_000 });
  // Connections analysis, the log tail (failed calls log warn lines), the doctor's findings.
  await go("#/connections");
  await page.waitForFunction(() => /1006 analysis/.test(document.querySelector("#connections")?.textContent ?? ""), undefined, { timeout: 10_000 });
  await go("#/logs");
  await page.waitForSelector("#log-lines .line.l-warn", { timeout: 10_000 });
  await go("#/doctor");
  await page.waitForSelector('#doctor .finding[data-check="circuit breakers"]', { timeout: 20_000 });
});

test("a killed upstream replica shows down with its breaker open within seconds", { skip }, async () => {
  await go("#/upstreams");
  await page.waitForSelector('[data-replica="everything#0"] .s-ready', { timeout: 10_000 });
  const victim = [...gateway.manager.replicas()].find((r) => r.spec.id === "everything#0")!;
  // Its respawn pushed out so the down state stays on screen (the respawn path has its own tests).
  victim.backoff.baseMs = 600_000;
  process.kill((victim.connection!.transport as StdioUpstreamTransport).pid!, "SIGKILL");
  await page.waitForSelector('[data-replica="everything#0"] .s-down', { timeout: 5000 });
  await page.waitForSelector('[data-breaker="everything#0"] .s-open', { timeout: 5000 });
  await page.waitForSelector('[data-upstream="everything"][data-status="degraded"]', { timeout: 5000 });
  assert.equal(await page.locator('[data-replica="everything#1"] .s-ready').count(), 1, "the other replica stays ready");
});

test("a breaker reset from the console: refused with a wrong token, done with the admin token, recorded with who did it", { skip }, async () => {
  const resetButton = '[data-breaker="everything#0"] ~ td button[data-action="reset-breaker"]';
  await setToken("not-the-admin-token");
  await page.click(resetButton);
  await page.click("#confirm-ok");
  await page.waitForSelector("#action-result.fail", { timeout: 5000 });
  assert.match((await page.textContent("#action-result")) ?? "", /admin_unauthorized/);
  // The API itself refuses without any token; the breaker is still open.
  const anon = await fetch(`${url}/mcp/admin/breakers/reset`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ target: "everything#0" }) });
  assert.equal(anon.status, 401);
  assert.equal(gateway.resilience!.breakerStates().find((b) => b.target === "everything#0")?.state, "open");

  await setToken(TOKEN);
  await page.evaluate(() => document.getElementById("action-result")?.remove());
  await page.click(resetButton);
  await page.waitForSelector("dialog.confirm[open]");
  await page.click("#confirm-ok");
  await page.waitForSelector("#action-result.ok", { timeout: 5000 });
  await page.waitForSelector('[data-breaker="everything#0"] .s-closed', { timeout: 5000 });
  assert.equal(gateway.resilience!.breakerStates().find((b) => b.target === "everything#0")?.state, "closed");
  // Both attempts are in the log tail, with the operator's name and the outcome.
  await go("#/logs");
  await page.waitForFunction(() => {
    const t = document.querySelector("#log-lines")?.textContent ?? "";
    return /admin action POST \/mcp\/admin\/breakers\/reset by test-operator \(console, [^)]+\): refused admin_unauthorized/.test(t) && /admin action POST \/mcp\/admin\/breakers\/reset by test-operator \(console, [^)]+\): done/.test(t);
  }, undefined, { timeout: 5000 });
  // Another action, from the log page: debug logging on (the tail then shows per-call debug lines).
  await page.click("#toggle-debug");
  await page.click("#confirm-ok");
  await page.waitForFunction(() => /Debug logging: on/.test(document.querySelector("#toggle-debug")?.textContent ?? ""), undefined, { timeout: 5000 });
  assert.equal(gateway.config.current.debug, true);
  await page.selectOption("#log-level", "debug");
  await page.waitForSelector("#log-lines .line.l-debug", { timeout: 5000 });
});

test("ending a client's sessions from its page closes its connection", { skip }, async () => {
  const ws = await WsClient.open(url, "to-be-ended");
  await ws.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } });
  const closed = new Promise<number>((resolve) => ws.ws.once("close", (code) => resolve(code)));
  await go("#/clients/to-be-ended");
  await page.waitForFunction(() => /Sessions/.test(document.querySelector("#client")?.textContent ?? ""), undefined, { timeout: 10_000 });
  await page.evaluate(() => document.getElementById("action-result")?.remove());
  await page.click('button[data-action="end-sessions"]');
  await page.click("#confirm-ok");
  await page.waitForSelector("#action-result.ok", { timeout: 5000 });
  assert.equal(await closed, 1001);
  assert.equal(gateway.registry.byClient("to-be-ended").length, 0);
});

test("a stopped gateway shows disconnected and stale", { skip }, async () => {
  await go("#/overview");
  await page.waitForSelector("#link.l-live", { timeout: 10_000 });
  assert.equal(await page.locator("#stale-banner").isHidden(), true);
  await traffic!.stop();
  traffic = undefined;
  await gateway.close();
  await page.waitForSelector("#link.l-disconnected, #link.l-stale", { timeout: 10_000 });
  await page.waitForSelector("#stale-banner:not([hidden])");
  assert.match((await page.textContent("#stale-banner")) ?? "", /stale/);
  assert.equal(await page.evaluate(() => document.body.classList.contains("stale")), true);
});

test("outside dev the page loads without a token, the stream's 401 opens the token dialog, and the token makes it live", { skip }, async () => {
  const prod = await startTestGateway({ profile: "test", admin: { token: TOKEN }, upstreams: [] });
  const tab = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await tab.goto(`${prod.url}/dashboard#/overview`);
    // No token in this tab: the stream answers 401 and the console asks for one.
    await tab.waitForSelector("dialog[open] input[name=token]", { timeout: 10_000 });
    assert.match((await tab.textContent("#stale-banner")) ?? "", /401/);
    await tab.fill("dialog[open] input[name=token]", TOKEN);
    await tab.click("#token-save");
    await tab.waitForSelector("#link.l-live", { timeout: 10_000 });
    // Kept in this tab's sessionStorage, never in the URL.
    assert.equal(await tab.evaluate(() => sessionStorage.getItem("mcp-gateway.console.admin-token")), TOKEN);
    assert.doesNotMatch(tab.url(), new RegExp(TOKEN));
  } finally {
    await tab.close();
    await prod.gateway.close();
  }
});
