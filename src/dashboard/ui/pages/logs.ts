import { act } from "../admin.js";
import { clock, fill, h } from "../dom.js";
import type { Live } from "../live.js";
import type { Page } from "./page.js";

const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** The live log tail (from the stream), filtered here by level, client, upstream and text. */
export class LogsPage implements Page {
  #level = h("select#log-level", ...["debug", "info", "warn", "error"].map((l) => h("option", { value: l, selected: l === "info" }, `≥ ${l}`))) as HTMLSelectElement;
  #client = h("input#log-client", { type: "search", placeholder: "client id" }) as HTMLInputElement;
  #upstream = h("input#log-upstream", { type: "search", placeholder: "upstream" }) as HTMLInputElement;
  #text = h("input#log-text", { type: "search", placeholder: "text" }) as HTMLInputElement;
  #paused = h("input", { type: "checkbox" }) as HTMLInputElement;
  #switches = h("span.switches");
  #body = h("div.logbox#log-lines");
  #shown = -1;
  #key = "";

  mount(root: HTMLElement, live: Live): void {
    const refresh = () => ((this.#shown = -1), this.update(live));
    for (const el of [this.#level, this.#client, this.#upstream, this.#text]) el.addEventListener("input", refresh);
    fill(root,
      h("div.head", h("h2", "Live log"), h("div.actions", this.#switches)),
      h("div.filters", h("label", "Level ", this.#level), this.#client, this.#upstream, this.#text, h("label", this.#paused, " pause")),
      this.#body);
  }

  update(live: Live): void {
    const sw = live.data.state?.logging;
    if (sw) {
      const key = JSON.stringify(sw);
      if (key !== this.#key) {
        this.#key = key;
        fill(this.#switches, h("span.muted", `level ${sw.level}${sw.debug ? " (debug on)" : ""} `),
          h("button#toggle-debug", { "data-action": "toggle-debug", onclick: () => void act(sw.debug ? "Turn debug logging off" : "Turn debug logging on", sw.debug ? "Back to the configured level; per-call lines stop." : "Logs at debug level (per-call routing lines included) until turned off. Costs CPU under load.", "POST", "/mcp/admin/logging", { debug: !sw.debug }) }, sw.debug ? "Debug logging: on — turn off" : "Debug logging: off — turn on"));
      }
    }
    if (this.#paused.checked) return;
    const logs = live.data.logs;
    if (logs.length === this.#shown) return;
    this.#shown = logs.length;
    const min = RANK[this.#level.value] ?? 30;
    const c = this.#client.value.trim();
    const u = this.#upstream.value.trim();
    const t = this.#text.value.trim().toLowerCase();
    const rows = logs.filter((l: any) => (RANK[l.level] ?? 30) >= min && (!c || (l.client_id ?? "").includes(c)) && (!u || (l.upstream ?? String(l.fields?.target ?? "")).includes(u)) && (!t || `${l.component} ${l.msg}`.toLowerCase().includes(t))).slice(-300);
    const atBottom = this.#body.scrollHeight - this.#body.scrollTop - this.#body.clientHeight < 40;
    fill(this.#body, ...rows.map((l: any) => h(`div.line.l-${l.level}`, h("span.t", clock(l.t)), h("span.lv", l.level), h("span.c", l.component), h("span.m", l.msg), l.client_id ? h("span.tag", `client=${l.client_id}`) : null, l.upstream ? h("span.tag", `upstream=${l.upstream}`) : null)));
    if (!rows.length) this.#body.append(h("p.muted", "no lines match (the tail shows what the log files get, at the configured level)"));
    if (atBottom) this.#body.scrollTop = this.#body.scrollHeight;
  }
}
