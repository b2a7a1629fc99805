import { act, api } from "../admin.js";
import { age, fill, h, pill, table } from "../dom.js";
import { PolledAdminPage } from "./page.js";
import { tokenNotice } from "./needs-token.js";

/** 100000 -> "100k": figures that fit a card. */
const compact = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n));

/** One client: `clients/:id`, its trace (`trace_client`), errors and rate-limit use; actions on it. */
export class ClientPage extends PolledAdminPage {
  /** Trace without message_sent/received (the lifecycle: connects, switches, limits, errors, closes). */
  #lifecycle = h("input#trace-lifecycle", { type: "checkbox", onchange: () => this.poll?.now() }) as HTMLInputElement;

  constructor(readonly id: string) {
    super(h("div#client"), 3000);
  }

  mount(root: HTMLElement): void {
    const key = `user:${this.id}`;
    fill(root,
      h("div.head", h("h2", h("a", { href: "#/clients" }, "Clients"), " / ", h("code", this.id)), h("div.actions",
        h("button", { "data-action": "end-sessions", onclick: () => void act(`End the sessions of ${this.id}`, `Closes every connection of ${this.id} and ends its sessions (their buffers are freed). The client may connect again with a new session.`, "POST", `/mcp/admin/clients/${encodeURIComponent(this.id)}/disconnect`).then(() => this.poll?.now()) }, "End sessions"),
        h("button", { "data-action": "reset-rate-limit", onclick: () => void act(`Reset the rate limit of ${key}`, `Clears the request counter and any override of ${key}.`, "POST", "/mcp/admin/rate-limit/reset", { key }).then(() => this.poll?.now()) }, "Reset rate limit"))),
      this.body);
    this.startPolling();
  }

  protected async load(): Promise<void> {
    const id = encodeURIComponent(this.id);
    try {
      const [info, trace, errors, rate] = await Promise.all([
        api("GET", `/mcp/admin/clients/${id}`),
        api("GET", `/mcp/admin/clients/${id}/trace`),
        api("GET", `/mcp/admin/clients/${id}/errors`),
        api("GET", `/mcp/admin/rate-limit/check?key=${encodeURIComponent(`user:${this.id}`)}`).catch(() => null),
      ]);
      fill(this.body,
        h("div.cards",
          h("div.card", h("span.label", "Status"), h("b", pill(info.status))),
          h("div.card", h("span.label", "Connections / sessions"), h("b", `${info.connections} / ${info.sessions}`)),
          h("div.card", h("span.label", "Transport"), h("b", info.transport ?? "-")),
          h("div.card", h("span.label", "Age"), h("b", age(info.age_s))),
          h("div.card", h("span.label", "Messages in / out"), h("b", `${info.messages_in} / ${info.messages_out}`)),
          h("div.card", h("span.label", "Lag"), h("b", `${info.lag_ms} ms`), h("span.sub", `${info.pending_acks} pending acks`)),
          h("div.card", h("span.label", "Backpressure"), h("b", info.backpressure)),
          h("div.card", h("span.label", "Rate limit"), h("b", rate && rate.count != null ? `${compact(rate.count)} / ${compact(rate.limit)}` : "-"), h("span.sub", `${info.rate_limited} rejected${rate && !rate.allowed ? ", limited now" : ""}`)),
        ),
        h("h3", "Sessions"),
        table(["Session", "Transport", "Connected", "Age", "Idle", "Lag", "Pending acks", "Backpressure", "Buffered", "In flight", "In / out", "Replay"],
          info.details.map((s: any) => [h("code", s.session_id.slice(0, 12) + "…"), s.transport, s.connected ? "yes" : "no", age(s.age_s), age(s.idle_s), `${s.lag_ms} ms`, s.pending_acks, s.backpressure, s.buffered_bytes, s.in_flight, `${s.messages_in} / ${s.messages_out}`, `${s.replay.size} (${s.replay.bytes} B)`])),
        h("h3", `Errors (${errors.errors.length}${errors.errors.length > 12 ? ", newest 12 shown" : ""})`),
        table(["When", "Transport", "Code", "Close", "Message"], [...errors.errors].reverse().slice(0, 12).map((e: any) => [e.timestamp.slice(11, 19), e.transport ?? "-", h("code", e.code), e.close_code ?? "-", e.message])),
        h("div.head", h("h3", `Trace (${trace.events.length} events, newest 60 shown)`), h("label", this.#lifecycle, " lifecycle only")),
        table(["When", "Event", "Transport", "Detail"], [...trace.events].filter((e: any) => !this.#lifecycle.checked || !/^message_/.test(e.event)).sort((a: any, b: any) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0)).slice(0, 60).map((e: any) => {
          const { timestamp, event, transport, ...rest } = e;
          return [timestamp.slice(11, 23), h("code", event), transport ?? "-", h("td.detail", Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "))];
        })),
      );
    } catch (err) {
      fill(this.body, tokenNotice(err));
    }
  }
}
