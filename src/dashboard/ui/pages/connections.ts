import { THRESHOLDS } from "../../../cli/doctor-tree.js";
import { api } from "../admin.js";
import { age, fill, h, pct, pill, table } from "../dom.js";
import { PolledAdminPage } from "./page.js";
import { tokenNotice } from "./needs-token.js";

function bars(entries: Array<[string, number]>): HTMLElement {
  if (!entries.length) return h("p.muted", "none");
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return h("div.bars", ...entries.map(([k, n]) => h("div.bar", h("span.k", k), h("span.track", h("span.fill", { style: `width:${(n / max) * 100}%` })), h("span.v", String(n)))));
}

/** `analyze_connections` (age buckets, suspicious patterns) and the 1006 analysis, every 5 s. */
export class ConnectionsPage extends PolledAdminPage {
  constructor() {
    super(h("div#connections"), 5000);
  }


  mount(root: HTMLElement): void {
    fill(root, h("h2", "Connections analysis"), this.body);
    this.startPolling();
  }

  protected async load(): Promise<void> {
    try {
      const [a, x, old] = await Promise.all([api("GET", "/mcp/admin/connections"), api("GET", "/mcp/admin/analyze-1006?hours=24"), api("GET", "/mcp/admin/connections/old?hours=24")]);
      const spike = x.ratio > THRESHOLDS.abnormal_close_ratio && x.count >= THRESHOLDS.min_errors;
      fill(this.body,
        h("div.cols",
          h("section.panel", h("h3", `Sessions by age (${a.total} sessions, ${a.clients} clients)`), bars(Object.entries(a.connection_distribution)),
            h("p.muted", `${old.count} older than 24 h (the guide's threshold; fix: mcp-gateway gc --hours 24)`)),
          h("section.panel", h("h3", "Suspicious patterns"),
            a.suspicious_patterns.length ? table(["Pattern", "Threshold", "Clients"], a.suspicious_patterns.map((p: any) => [h("td", pill("warn", p.pattern)), p.threshold, h("td", ...p.client_ids.slice(0, 10).map((id: string) => h("a.chip", { href: `#/clients/${encodeURIComponent(id)}` }, id)))])) : h("p", pill("ok", "none"), " no rapid reconnects, no connection hoarding"),
            h("h4", `Closes in the last ${a.thresholds.rapid_reconnect_window_s} s by transport`), bars(Object.entries(a.recent_closes_by_transport)))),
        h("section.panel", h("h3", "1006 analysis (last 24 h)"),
          h("div.cards",
            h(`div.card${spike ? ".bad" : ""}`, h("span.label", "Abnormal closes (1006)"), h("b", `${x.count} of ${x.total_closes}`), h("span.sub", `${pct(x.ratio, 1)} (alert above ${pct(THRESHOLDS.abnormal_close_ratio)})`)),
            h("div.card", h("span.label", "Median age at close"), h("b", x.median_age_ms == null ? "-" : age(x.median_age_ms / 1000))),
            h("div.card", h("span.label", "Pattern"), h("b", x.dies_at_once ? "dies at once" : x.idle_timeout_pattern ? "idle timeout" : x.count ? "varying ages" : "-")),
            h("div.card", h("span.label", "WebSocket ping / idle"), h("b", `${x.websocket.ping_interval} / ${x.websocket.idle_timeout} ms`))),
          x.hints.length ? h("ul.hints", ...x.hints.map((t: string) => h("li", t))) : null,
          h("div.cols",
            h("div", h("h4", "By close code"), table(["Code", "Count", "Meaning"], Object.entries<any>(x.by_close_code).map(([k, v]) => [h("code", k), v.count, v.meaning]))),
            h("div", h("h4", "By transport"), bars(Object.entries(x.by_transport)), h("h4", "Top clients"), table(["Client", "1006 closes"], x.top_clients.map((t: any) => [h("td", h("a", { href: `#/clients/${encodeURIComponent(t.client_id)}` }, t.client_id)), t.count]))))),
      );
    } catch (err) {
      fill(this.body, tokenNotice(err));
    }
  }
}
