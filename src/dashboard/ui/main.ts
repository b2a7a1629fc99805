import { askToken, auth, onAuthChange } from "./admin.js";
import { clock, fill, h } from "./dom.js";
import { Live } from "./live.js";
import type { Page } from "./pages/page.js";
import { OverviewPage } from "./pages/overview.js";
import { UpstreamsPage } from "./pages/upstreams.js";
import { ClientsPage } from "./pages/clients.js";
import { ClientPage } from "./pages/client.js";
import { ConnectionsPage } from "./pages/connections.js";
import { LogsPage } from "./pages/logs.js";
import { DoctorPage } from "./pages/doctor.js";

const NAV: Array<[string, string]> = [["overview", "Overview"], ["upstreams", "Upstreams"], ["clients", "Clients"], ["connections", "Connections"], ["logs", "Logs"], ["doctor", "Doctor"]];

function pageFor(hash: string): { name: string; page: Page } {
  const [, name = "overview", arg] = /^#\/([^/]*)(?:\/(.*))?$/.exec(hash) ?? [];
  switch (name) {
    case "upstreams": return { name, page: new UpstreamsPage() };
    case "clients": return { name, page: arg ? new ClientPage(decodeURIComponent(arg)) : new ClientsPage() };
    case "connections": return { name, page: new ConnectionsPage() };
    case "logs": return { name, page: new LogsPage() };
    case "doctor": return { name, page: new DoctorPage() };
    default: return { name: "overview", page: new OverviewPage() };
  }
}

function start(): void {
  const live = new Live(document.body.dataset.stream ?? "/dashboard/stream");
  const link = h("span#link.link");
  const banner = h("div#stale-banner.banner", { hidden: true });
  const tokenBtn = h("button.token#token-button", { onclick: () => void askToken() });
  const nav = h("nav", ...NAV.map(([id, label]) => h("a", { href: `#/${id}`, "data-page": id }, label)));
  const main = h("main#page");
  const app = document.getElementById("app")!;
  fill(app, h("header", h("h1", "MCP Gateway ", h("span.sub", "console")), nav, h("div.right", link, tokenBtn)), banner, main);

  const showAuth = () => (tokenBtn.textContent = auth.token ? `admin: ${auth.operator || "token set"}` : "enter admin token");
  showAuth();
  onAuthChange(() => {
    showAuth();
    live.connect();
    route();
  });

  let current: { name: string; page: Page } | undefined;
  const route = () => {
    current?.page.unmount?.();
    current = pageFor(location.hash);
    for (const a of Array.from(nav.querySelectorAll("a"))) a.classList.toggle("active", a.dataset.page === current.name);
    main.replaceChildren();
    current.page.mount(main, live);
    current.page.update(live);
  };
  window.addEventListener("hashchange", route);

  // Outside dev the stream needs a token: the first refusal opens the token dialog (once per page load).
  let askedOnRefusal = false;
  const showLink = () => {
    const d = live.data;
    if (d.link === "disconnected" && !askedOnRefusal && !auth.token && /HTTP 401/.test(d.linkError ?? "")) {
      askedOnRefusal = true;
      void askToken();
    }
    link.className = `link l-${d.link}`;
    link.textContent = d.link === "live" ? "● live" : d.link === "connecting" ? "connecting…" : d.link === "stale" ? "● stale" : "● disconnected";
    const down = d.link === "stale" || d.link === "disconnected";
    document.body.classList.toggle("stale", down);
    banner.hidden = !down;
    if (down) banner.textContent = `${d.link === "disconnected" ? "Disconnected from the gateway" : "No update from the gateway"}: what you see is stale${d.lastTickAt ? `, last update ${clock(d.lastTickAt)} (${Math.round((Date.now() - d.lastTickAt) / 1000)} s ago)` : ""}.${d.linkError ? ` ${d.linkError}.` : ""} Reconnecting…`;
  };
  let scheduled = false;
  // Nav badges: a page with something wrong on it is marked (down upstream or open breaker).
  const badge = () => {
    const st = live.data.state;
    if (!st) return;
    const bad = st.upstreams.some((u: any) => u.status !== "ok" || u.replicas.some((r: any) => r.breaker && r.breaker.state !== "closed")) || st.transports.some((b: any) => b.state !== "closed");
    nav.querySelector('[data-page="upstreams"]')?.classList.toggle("alert", bad);
  };
  live.on((kind) => {
    if (kind === "link") showLink();
    if (kind === "state") badge();
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      current?.page.update(live);
    });
  });
  // The banner's "s ago" keeps counting while nothing arrives.
  setInterval(() => live.data.link !== "live" && showLink(), 1000);
  showLink();
  route();
  live.connect();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
