import { api } from "../admin.js";
import { age, fill, h, pill, table } from "../dom.js";
import { PolledAdminPage } from "./page.js";
import { tokenNotice } from "./needs-token.js";

/** The client list: `GET /mcp/admin/clients?q=` (admin token), refreshed every 2 s. */
export class ClientsPage extends PolledAdminPage {
  constructor() {
    super(h("div#clients"), 2000);
  }

  #q = h("input#client-search", { type: "search", placeholder: "search client id…", oninput: () => this.poll?.now() }) as HTMLInputElement;

  mount(root: HTMLElement): void {
    fill(root, h("div.head", h("h2", "Clients"), this.#q), this.body);
    this.startPolling();
  }

  protected async load(): Promise<void> {
    try {
      const r = await api("GET", `/mcp/admin/clients?limit=200&q=${encodeURIComponent(this.#q.value.trim())}`);
      fill(this.body,
        h("p.muted", `${r.total} client(s)${r.total > r.clients.length ? `, the ${r.clients.length} busiest shown` : ""}`),
        table(["Client", "Status", "Transport", "Age", "Msgs in", "Msgs out", "Pending acks", "Backpressure", "Rate limited", "Errors", "Last close"],
          r.clients.map((c: any) => [
            h("td", h("a", { href: `#/clients/${encodeURIComponent(c.client_id)}` }, c.client_id)),
            h("td", pill(c.status)), c.transport ?? "-", age(c.age_s), c.messages_in, c.messages_out, c.pending_acks,
            h("td", pill(c.backpressure === "none" ? "ok" : c.backpressure, c.backpressure)), c.rate_limited, c.errors, c.last_close_code ?? "-",
          ]), "clients"));
    } catch (err) {
      fill(this.body, tokenNotice(err));
    }
  }
}
