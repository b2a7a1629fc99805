import { walkTree, type Diagnosis } from "../../../cli/doctor-tree.js";
import { AdminClient } from "../../../cli/admin-client.js";
import { auth } from "../admin.js";
import { fill, h, pill } from "../dom.js";
import type { Page } from "./page.js";
import { tokenNotice } from "./needs-token.js";

/**
 * The doctor's findings: the same decision-tree walk as `mcp-gateway doctor`
 * (its code, bundled), run from the browser against the admin API with the
 * token; each finding with its evidence and the commands that fix it.
 */
export class DoctorPage implements Page {
  #body = h("div#doctor");
  #at = h("span.muted");
  #timer?: ReturnType<typeof setInterval>;

  mount(root: HTMLElement): void {
    fill(root, h("div.head", h("h2", "Doctor"), h("div.actions", this.#at, h("button#doctor-run", { onclick: () => void this.#run() }, "Run again"))), this.#body);
    void this.#run();
    this.#timer = setInterval(() => void this.#run(), 30_000);
  }

  update(): void {}

  unmount(): void {
    clearInterval(this.#timer);
  }

  async #run(): Promise<void> {
    if (!auth.token) return fill(this.#body, tokenNotice());
    this.#at.textContent = "walking the decision tree… ";
    let d: Diagnosis;
    try {
      d = await walkTree(new AdminClient({ url: location.origin, token: auth.token, timeoutMs: 10_000 }));
    } catch (err) {
      this.#at.textContent = "";
      return fill(this.#body, (err as { status?: number }).status === 401 ? tokenNotice({ status: 401 }) : h("p.notice", `The doctor could not reach the gateway: ${(err as Error).message}`));
    }
    this.#at.textContent = `walked at ${new Date().toLocaleTimeString([], { hour12: false })} `;
    const order = { fail: 0, warn: 1, ok: 2, skip: 3 } as const;
    const findings = [...d.findings].sort((a, b) => order[a.status] - order[b.status]);
    const problems = findings.filter((f) => f.status === "fail" || f.status === "warn").length;
    fill(this.#body,
      h("p", problems ? pill("warn", `${problems} problem(s) found`) : pill("ok", "no problems found")),
      h("ol.path", ...d.path.map((p) => h("li", p))),
      h("div.findings", ...findings.map((f) => h(`div.finding.f-${f.status}`, { "data-check": f.check },
        h("div.fhead", pill(f.status === "fail" ? "down" : f.status === "warn" ? "warn" : f.status === "ok" ? "ok" : "none", f.status), h("b", f.check), h("span.muted", ` ${f.branch}`)),
        h("p", f.evidence),
        ...(f.fix ?? []).map((cmd) => h("div.fix", h("code", cmd), h("button.small.copy", { title: "copy", onclick: () => void navigator.clipboard?.writeText(cmd) }, "copy")))))));
  }
}
