/**
 * Screenshots of every console page under real traffic, for docs/operations.md:
 * a gateway with server-everything (two replicas) and the conformance fixture
 * as stdio children (the fixture with prefix "always", so the catalogue shows renamed tools), SDK clients over Streamable HTTP and HTTP+SSE plus
 * WebSocket clients calling tools (a few failing), a client that keeps
 * dropping its WebSocket (1006), one replica killed (down, breaker open), and
 * at the end the gateway stopped (the stale banner).
 *
 *   npm run build:console && node --import tsx scripts/console-screenshots.ts [seconds of traffic, default 45]
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import WebSocket from "ws";
import { chromium } from "playwright-core";
import { everythingUpstream, fixtureUpstream, startTestGateway } from "../test/helpers/gateway.js";
import { startTraffic } from "../test/dashboard/traffic.js";
import { buildConsole } from "./build-console.mjs";
import type { StdioUpstreamTransport } from "../src/upstream/transports/stdio.js";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "docs/img");
const TOKEN = "console-screenshot-token";
const seconds = Number(process.argv[2] ?? 45);

mkdirSync(OUT, { recursive: true });
console.log("bundle", await buildConsole());
const { gateway, url } = await startTestGateway({
  admin: { token: TOKEN },
  circuit_breaker: { failure_threshold: 3, reset_timeout: 600_000 },
  // One greedy client is limited (set below); the others stay under the limit.
  rate_limiting: { default_limit: 100_000 },
  upstreams: [everythingUpstream("everything", { replicas: 2 }), fixtureUpstream("fixture", { prefix: "always" })],
});
await fetch(`${url}/mcp/admin/rate-limit/set`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ key: "user:agent-ws-2", limit: 300 }) });
const traffic = await startTraffic(url, { http: 4, sse: 2, ws: 3, paceMs: 40, failEvery: 25 });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
await page.addInitScript(([t]) => {
  sessionStorage.setItem("mcp-gateway.console.admin-token", t!);
  sessionStorage.setItem("mcp-gateway.console.operator", "alice");
}, [TOKEN]);
const shot = async (name: string, full = false) => {
  await page.screenshot({ path: join(OUT, `console-${name}.png`), fullPage: full });
  console.log("wrote", `docs/img/console-${name}.png`);
};
try {
  await page.goto(`${url}/dashboard#/overview`);
  await page.waitForSelector("#link.l-live");
  // A flaky client: WebSocket connections dropped without a close frame (1006).
  for (let i = 0; i < 6; i++) {
    const ws = new WebSocket(`${url.replace("http", "ws")}/mcp/ws?client_id=flaky-ws`, "mcp");
    await new Promise((r) => ws.once("open", r));
    await new Promise((r) => setTimeout(r, 300 + 100 * i));
    ws.terminate();
  }
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) await page.waitForTimeout(1000);
  await shot("overview", true);

  // One replica killed, kept down (its restart pushed out), so the page shows it down and its breaker open.
  const victim = [...gateway.manager.replicas()].find((r) => r.spec.id === "everything#0")!;
  victim.backoff.baseMs = 600_000;
  process.kill((victim.connection!.transport as StdioUpstreamTransport).pid!, "SIGKILL");
  await page.goto(`${url}/dashboard#/upstreams`);
  await page.waitForSelector('[data-breaker="everything#0"] .s-open', { timeout: 15_000 });
  await page.waitForTimeout(1500);
  await page.evaluate(() => document.querySelector<HTMLDetailsElement>('[data-upstream="fixture"] details.catalogue')?.setAttribute("open", ""));
  await shot("upstreams", true);

  await page.goto(`${url}/dashboard#/clients`);
  await page.waitForSelector("table.clients tbody tr a");
  await shot("clients");
  // The rate-limited client, its trace without the message lines (connects, limits, errors).
  await page.goto(`${url}/dashboard#/clients/agent-ws-2`);
  await page.waitForSelector("#client h3");
  await page.click("#trace-lifecycle");
  await page.waitForFunction(() => !/message_sent/.test(document.querySelector("#client")?.textContent ?? "message_sent"));
  await shot("client", true);
  await page.goto(`${url}/dashboard#/connections`);
  await page.waitForSelector("#connections .panel");
  await shot("connections", true);
  await page.goto(`${url}/dashboard#/logs`);
  await page.waitForSelector("#log-lines .line");
  await shot("logs");
  await page.goto(`${url}/dashboard#/doctor`);
  await page.waitForSelector("#doctor .finding", { timeout: 30_000 });
  await shot("doctor", true);
  // The reset action's confirm dialog.
  await page.goto(`${url}/dashboard#/upstreams`);
  await page.click('[data-breaker="everything#0"] ~ td button[data-action="reset-breaker"]');
  await page.waitForSelector("dialog.confirm[open]");
  await shot("confirm");
  await page.click("dialog.confirm button[value=cancel]");

  await page.goto(`${url}/dashboard#/overview`);
  await page.waitForSelector("#link.l-live");
  await traffic.stop();
  await gateway.close();
  await page.waitForSelector("#link.l-disconnected, #link.l-stale", { timeout: 15_000 });
  await page.waitForTimeout(2500);
  await shot("stale");
} finally {
  await browser.close();
  await traffic.stop();
  await gateway.close();
}
