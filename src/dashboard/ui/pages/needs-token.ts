import { ApiError, askToken, auth } from "../admin.js";
import { h } from "../dom.js";

/** What a page that reads the admin API shows without a (valid) token. */
export function tokenNotice(err?: unknown): HTMLElement {
  const refused = err instanceof ApiError && err.status === 401;
  return h("div.notice", h("p", refused ? "The gateway refused the admin token (admin_unauthorized)." : auth.token ? `Could not load: ${(err as Error)?.message ?? err}` : "This view reads the admin API: enter the admin token."), h("button.primary", { onclick: () => void askToken() }, "Enter admin token"));
}
