import { h } from "./dom.js";

const TOKEN_KEY = "mcp-gateway.console.admin-token";
const OPERATOR_KEY = "mcp-gateway.console.operator";

/** The admin token: entered once per tab, kept in sessionStorage (gone with the tab), never put in a URL. */
export const auth = {
  get token(): string {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  },
  get operator(): string {
    return sessionStorage.getItem(OPERATOR_KEY) ?? "";
  },
  set(token: string, operator: string): void {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.setItem(OPERATOR_KEY, operator);
    listeners.forEach((fn) => fn());
  },
};
const listeners = new Set<() => void>();
export const onAuthChange = (fn: () => void) => void listeners.add(fn);

/** Headers of every console request: the token as a Bearer header and who is acting (recorded with each action). */
export function headers(json = false): Record<string, string> {
  const out: Record<string, string> = { "x-mcp-client": "console" };
  if (auth.token) out.authorization = `Bearer ${auth.token}`;
  if (auth.operator) out["x-mcp-operator"] = auth.operator;
  if (json) out["content-type"] = "application/json";
  return out;
}

/** An admin API answer that was not 2xx. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One admin API call; throws ApiError with the gateway's error code. */
export async function api<T = any>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: "bad_response", message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, parsed?.error ?? `http_${res.status}`, parsed?.message ?? `HTTP ${res.status}`);
  return parsed as T;
}

/** The token dialog: token and an operator name (the log records the name with each action). */
export function askToken(): Promise<boolean> {
  return new Promise((resolve) => {
    const token = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "admin.token", value: auth.token }) as HTMLInputElement;
    const operator = h("input", { type: "text", name: "operator", placeholder: "your name (recorded with each action)", value: auth.operator }) as HTMLInputElement;
    const dlg = h("dialog.modal", h("form", { method: "dialog" },
      h("h3", "Admin token"),
      h("p.muted", "Kept in this tab's session storage only and sent as an Authorization header; never in a URL. Actions and client views need the admin token; outside dev the live view needs the admin or ops token."),
      h("label", "Token", token),
      h("label", "Operator", operator),
      h("div.buttons", h("button.secondary", { type: "button", value: "clear", onclick: () => { auth.set("", operator.value); dlg.close("clear"); } }, "Forget token"), h("button.secondary", { value: "cancel" }, "Cancel"), h("button.primary", { value: "ok", id: "token-save" }, "Save")),
    )) as HTMLDialogElement;
    dlg.addEventListener("close", () => {
      if (dlg.returnValue === "ok") auth.set(token.value.trim(), operator.value.trim());
      dlg.remove();
      resolve(dlg.returnValue === "ok");
    });
    document.body.append(dlg);
    dlg.showModal();
    token.focus();
  });
}

/** The confirm dialog every action passes: says what will happen and to what. */
export function confirmAction(title: string, detail: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dlg = h("dialog.modal.confirm", h("form", { method: "dialog" },
      h("h3", title),
      h("p", detail),
      h("p.muted", `Recorded in the gateway log as done by ${auth.operator || "admin-token"}.`),
      h("div.buttons", h("button.secondary", { value: "cancel" }, "Cancel"), h("button.danger", { value: "ok", id: "confirm-ok" }, "Confirm")),
    )) as HTMLDialogElement;
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(dlg.returnValue === "ok");
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Shows an action's outcome for a few seconds (and keeps the last one in #action-result for tests and screenshots). */
export function toast(text: string, ok: boolean): void {
  let box = document.getElementById("action-result");
  if (!box) document.body.append((box = h("div#action-result")));
  box.className = ok ? "toast ok" : "toast fail";
  box.textContent = text;
  box.hidden = false;
  clearTimeout((box as any)._timer);
  (box as any)._timer = setTimeout(() => (box!.hidden = true), 8000);
}

/**
 * An operator action: asks for the token if none is set, confirms, calls the
 * admin API, shows the outcome (a refusal names the gateway's error code).
 */
export async function act(title: string, detail: string, method: "POST", path: string, body: unknown = {}): Promise<unknown> {
  if (!auth.token && !(await askToken())) return undefined;
  if (!(await confirmAction(title, detail))) return undefined;
  try {
    const result = await api(method, path, body);
    toast(`${title}: done ${JSON.stringify(result).slice(0, 160)}`, true);
    return result;
  } catch (err) {
    const e = err as ApiError;
    toast(`${title}: refused (${e.code ?? "error"}: ${e.message})`, false);
    return undefined;
  }
}
