import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors/index.js";

/** A route handler; `params` holds `:name` path segments. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => void | Promise<void>;

interface PatternRoute {
  method: string;
  regex: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * A small router: exact paths in a Map (the MCP endpoints are hit on every
 * message, so they cost one lookup), `:param` patterns in a list for the
 * rarer admin routes.
 */
export class Router {
  readonly #exact = new Map<string, RouteHandler>();
  readonly #patterns: PatternRoute[] = [];
  readonly #paths = new Set<string>();

  /** Adds a route. `method` "*" matches any method. */
  on(method: string, path: string, handler: RouteHandler): this {
    this.#paths.add(path);
    if (!path.includes(":")) {
      this.#exact.set(`${method} ${path}`, handler);
      return this;
    }
    const names: string[] = [];
    const regex = new RegExp(
      "^" + path.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      }) + "$",
    );
    this.#patterns.push({ method, regex, names, handler });
    return this;
  }

  /**
   * Finds the handler for a request; `pathKnown` tells a wrong method (405)
   * from an unknown path (404). A `:param` segment that is not a valid
   * percent-encoding (`%E0%A4%A`, a lone `%`) gives `error`
   * (invalid_request, 400) instead of a handler.
   */
  match(method: string, path: string): { handler?: RouteHandler; params: Record<string, string>; pathKnown: boolean; error?: GatewayError } {
    const exact = this.#exact.get(`${method} ${path}`) ?? this.#exact.get(`* ${path}`);
    if (exact) return { handler: exact, params: {}, pathKnown: true };
    let pathKnown = this.#paths.has(path);
    for (const route of this.#patterns) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method !== method && route.method !== "*") continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < route.names.length; i++) {
        const value = decodeParam(m[i + 1]!);
        if (value === undefined) return { params: {}, pathKnown, error: new GatewayError("invalid_request", { detail: `path parameter ${route.names[i]} is not valid percent-encoding` }) };
        params[route.names[i]!] = value;
      }
      return { handler: route.handler, params, pathKnown };
    }
    return { params: {}, pathKnown };
  }
}

/** decodeURIComponent without the throw: undefined for a malformed escape (it throws URIError). */
function decodeParam(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
