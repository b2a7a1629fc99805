import { act } from "../admin.js";
import { fill, h, num, pct, pill, table } from "../dom.js";
import type { Live } from "../live.js";
import type { Page } from "./page.js";

const resetButton = (target: string, label = "Reset breaker", size = "small") =>
  h(`button.${size}`, { "data-action": "reset-breaker", "data-target": target, onclick: () => void act(`Reset breaker ${target}`, `Closes the circuit breaker of ${target}: calls are let through again at once. If the upstream is still down it will open again.`, "POST", "/mcp/admin/breakers/reset", { target }) }, label);

function ringBar(replicas: any[]): HTMLElement {
  const total = replicas.reduce((n, r) => n + (r.ring?.vnodes ?? 0) * (r.ring?.weight ?? 1), 0) || 1;
  return h("div.ring", ...replicas.map((r, i) => {
    const share = ((r.ring?.vnodes ?? 0) * (r.ring?.weight ?? 1)) / total;
    return h(`span.seg.c${i % 8}${r.state === "ready" ? "" : ".dead"}`, { style: `width:${(share * 100).toFixed(2)}%`, title: `${r.id}: ${pct(share, 1)} of the ring, ${r.ring?.clients ?? 0} clients` }, share > 0.12 ? `${r.id} ${pct(share)}${r.state === "ready" ? "" : " (down)"}` : "");
  }));
}

function catalogueOf(live: Live, name: string): HTMLElement {
  const c = (live.data.catalogue ?? []).find((x: any) => x.upstream === name);
  if (!c) return h("p.muted", "no lists loaded yet");
  const names = (items: Array<{ exposed: string; name: string }>) => items.map((t) => h("li", h("code", t.exposed), t.exposed !== t.name ? h("span.muted", ` ← ${t.name}`) : null));
  return h("details.catalogue", h("summary", `Catalogue: ${c.tools.length} tools, ${c.prompts.length} prompts, ${c.resources.length} resources, ${c.templates.length} templates${c.listed ? "" : " (hidden from clients: upstream down)"}`),
    h("div.cols",
      h("div", h("h4", "Tools (as clients see them)"), h("ul", ...names(c.tools))),
      h("div", h("h4", "Prompts"), h("ul", ...names(c.prompts))),
      h("div", h("h4", "Resources"), h("ul", ...c.resources.slice(0, 50).map((u: string) => h("li", h("code", u)))), c.resources.length > 50 ? h("p.muted", `… ${c.resources.length - 50} more`) : null, h("h4", "Templates"), h("ul", ...c.templates.map((u: string) => h("li", h("code", u))))),
    ));
}

export class UpstreamsPage implements Page {
  #list = h("div#upstreams");
  #transports = h("div");
  #history = h("div");
  #open = new Set<string>();

  mount(root: HTMLElement): void {
    fill(root,
      h("div.head", h("h2", "Upstreams"), h("div.actions",
        h("button", { "data-action": "pool-clear", onclick: () => void act("Clear all pools", "Drops every pooled upstream connection; the next calls open fresh ones.", "POST", "/mcp/admin/pool/clear") }, "Clear pools"),
        h("button", { "data-action": "pool-restart", onclick: () => void act("Restart all pools", "Restarts every upstream replica (stdio children are respawned) and resets their breakers.", "POST", "/mcp/admin/pool/restart") }, "Restart pools"),
        resetButton("all", "Reset all breakers", "wide"))),
      this.#list, h("h3", "Client transports"), this.#transports, h("h3", "Breaker history"), this.#history);
  }

  update(live: Live): void {
    const st = live.data.state;
    if (!st) return;
    // Keep open catalogue panels open across refreshes.
    for (const d of Array.from(this.#list.querySelectorAll<HTMLDetailsElement>("details.catalogue"))) {
      const name = d.closest("[data-upstream]")?.getAttribute("data-upstream");
      if (name) d.open ? this.#open.add(name) : this.#open.delete(name);
    }
    fill(this.#list, ...st.upstreams.map((u: any) => {
      const p = u.pool;
      const cat = catalogueOf(live, u.name) as HTMLDetailsElement;
      if (this.#open.has(u.name) && cat.tagName === "DETAILS") cat.open = true;
      return h("section.upstream", { "data-upstream": u.name, "data-status": u.status },
        h("div.head", h("h3", u.name, " ", pill(u.status), u.lists_stale ? h("span", " ", pill("warn", "lists stale")) : null, h("span.muted", ` ${u.transport}`)), h("div.actions", resetButton(u.name, "Reset breakers"))),
        h("div.figures",
          h("span", "pool ", p ? h("b", `${p.in_use}/${p.size}+${p.overflow}`) : "-", p ? ` (${pct(p.exhaustion_ratio)}, ${p.waiting} waiting, ${p.timeouts} timeouts)` : ""),
          h("span", "latency ", h("b", u.latency?.p50_ms == null ? "-" : `p50 ${num(u.latency.p50_ms)} ms · p99 ${num(u.latency.p99_ms)} ms`), u.latency ? ` (${u.latency.calls} calls last second)` : " (no calls last second)")),
        table(["Replica", "State", "Breaker", "Failures", "Ring share", "Clients", "In flight", "Restarts", "Protocol", "Last error", ""],
          u.replicas.map((r: any) => [
            h("td", h("code", r.id)),
            h("td.replica-state", { "data-replica": r.id }, pill(r.state)),
            h("td.breaker-state", { "data-breaker": r.id }, r.breaker ? pill(r.breaker.state) : "-", r.breaker?.opened_at && r.breaker.state !== "closed" ? h("span.muted", ` since ${new Date(r.breaker.opened_at).toLocaleTimeString([], { hour12: false })}`) : null),
            r.breaker?.failures ?? "-",
            r.ring ? `${r.ring.vnodes} vnodes × ${r.ring.weight}` : "-",
            r.ring?.clients ?? "-",
            r.in_flight,
            r.restarts,
            r.protocol ?? "-",
            h("td.error", r.last_error ?? ""),
            h("td", r.breaker && r.breaker.state !== "closed" ? resetButton(r.id) : null),
          ])),
        h("div.ringrow", h("span.muted", "hash ring "), ringBar(u.replicas)),
        cat);
    }));
    fill(this.#transports, table(["Transport", "Breaker", "Failures", "Opened", ""], st.transports.map((b: any) => [h("code", b.target), pill(b.state), b.failures, b.opened_at ?? "-", b.state !== "closed" ? resetButton(b.target) : null])));
    fill(this.#history, table(["When", "Breaker", "Kind", "Transition", "Failures", "Reason"], [...st.breaker_history].reverse().slice(0, 20).map((e: any) => [new Date(e.at).toLocaleTimeString([], { hour12: false }), h("code", e.target), e.kind, h("span", pill(e.from), " → ", pill(e.to)), e.failures, h("td.error", e.reason ?? "")])));
  }
}
