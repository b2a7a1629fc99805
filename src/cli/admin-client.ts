/** Default admin API address (the guide's `localhost:4000`). */
export const DEFAULT_URL = "http://127.0.0.1:4000";

/** Where and how to reach a running gateway. */
export interface AdminTarget {
  url: string;
  token: string;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Who is acting, sent as `x-mcp-operator` and recorded with every admin write (src/admin/audit.ts). */
  operator?: string;
}

/** The target from options, then env (MCP_GATEWAY_URL, MCP_GATEWAY_ADMIN_TOKEN; the operator from MCP_GATEWAY_OPERATOR or USER), then the dev defaults. */
export function resolveTarget(opts: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): AdminTarget {
  const operator = env.MCP_GATEWAY_OPERATOR ?? env.USER ?? env.LOGNAME;
  return {
    url: (opts.url ?? env.MCP_GATEWAY_URL ?? DEFAULT_URL).replace(/\/+$/, ""),
    token: opts.token ?? env.MCP_GATEWAY_ADMIN_TOKEN ?? "admin-token",
    ...(operator ? { operator } : {}),
  };
}

/** An answer of the admin API that was not 2xx: carries the gateway's JSON error. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; [k: string]: unknown } | null,
    readonly path: string,
  ) {
    super(body?.message ? `${body.error ?? "error"}: ${body.message}` : `HTTP ${status} from ${path}`);
    this.name = "AdminError";
  }
}

/**
 * A tiny client of the admin API: JSON in, JSON out, Bearer token, timeout.
 * Used by the CLI commands, the console and the doctor.
 */
export class AdminClient {
  constructor(readonly target: AdminTarget) {}

  /** GET a path (with optional query), returning the parsed JSON. */
  get<T = unknown>(path: string, query?: Record<string, string | number | undefined>): Promise<T> {
    return this.request<T>("GET", path, undefined, query);
  }

  /** POST a JSON body. */
  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request<T>("POST", path, body ?? {});
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    let url = this.target.url + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
      const s = q.toString();
      if (s) url += (url.includes("?") ? "&" : "?") + s;
    }
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.target.token}`, ...(this.target.operator ? { "x-mcp-operator": this.target.operator.replace(/[^\w.@+ -]/g, "") } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.target.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: "bad_response", message: text.slice(0, 200) };
    }
    if (!res.ok) throw new AdminError(res.status, parsed as AdminError["body"], path);
    return parsed as T;
  }
}
