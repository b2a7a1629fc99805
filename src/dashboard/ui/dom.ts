/** Attributes and children of {@link h}; strings become text nodes (never parsed as HTML). */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** Builds an element: `h("td#id.warn", {title: "x"}, "text", child)`; `on*` attributes are listeners. */
export function h(tag: string, attrs: Attrs | Child = {}, ...children: Child[]): HTMLElement {
  // "div#id.a.b" (id and classes in any order after the tag name).
  const parts = tag.split(/(?=[.#])/);
  const el = document.createElement(parts[0] && !/^[.#]/.test(parts[0]) ? parts.shift()! : "div");
  const classes: string[] = [];
  for (const p of parts) p.startsWith("#") ? (el.id = p.slice(1)) : classes.push(p.slice(1));
  if (classes.length) el.className = classes.join(" ");
  let a: Attrs = {};
  if (attrs instanceof Node || typeof attrs !== "object" || attrs === null) children.unshift(attrs as Child);
  else a = attrs;
  for (const [k, v] of Object.entries(a)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className += (el.className ? " " : "") + v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
}

/** A status pill: the class is the state (ok, degraded, down, open, half_open, closed, warn, fail, ...). */
export function pill(state: string | null | undefined, text = state ?? "-"): HTMLElement {
  return h(`span.pill.s-${String(state ?? "none").replace(/[^\w-]/g, "")}`, text);
}

export const pct = (r: number | null | undefined, digits = 0) => (r == null || Number.isNaN(r) ? "-" : `${(r * 100).toFixed(digits)}%`);
export const num = (n: number | null | undefined, digits = 0) => (n == null || Number.isNaN(n) ? "-" : n.toFixed(digits));

/** "3 s", "4 min", "2.5 h", "3 d". */
export function age(s: number | null | undefined): string {
  if (s == null) return "-";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

export const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour12: false });

/** A table from a header list and rows of cells. */
export function table(head: string[], rows: Child[][], cls = ""): HTMLElement {
  return h(`table${cls ? "." + cls : ""}`, h("thead", h("tr", ...head.map((x) => h("th", x)))), h("tbody", ...(rows.length ? rows.map((r) => h("tr", ...r.map((c) => (c instanceof HTMLElement && c.tagName === "TD" ? c : h("td", c))))) : [h("tr", h("td.empty", { colspan: head.length }, "none"))])));
}
