/**
 * The one list of what is a secret in the gateway's configuration, and the
 * functions every place that shows config (admin API and through it the CLI,
 * console and doctor; logs; the dashboard) goes through. Values are judged by
 * what they are, not by a loose match on their key: `server.headers_timeout`
 * is a number of milliseconds, `upstreams.N.headers.Authorization` is a
 * credential, and a URL's password is a secret wherever the URL appears.
 */

/** What a hidden value is replaced with. */
export const REDACTED = "[redacted]";

/** Keys whose string value is a secret (matched against the last segment of the path). */
const SECRET_KEY = /(^|_)(token|secret|password|passwd|sha256|api_key|apikey|private_key|client_secret|credentials?)$/i;

/** Maps whose every value is a secret: the environment given to stdio upstreams. */
const SECRET_MAPS = new Set(["env"]);

/**
 * Header maps whose every value is a secret, named by `<parent>.<map>`: a
 * collector's headers (`telemetry.otlp.headers`) carry its API key under
 * vendor names a pattern cannot know (`x-honeycomb-team`, `DD-API-KEY`,
 * `signoz-access-token`), and nothing else belongs there.
 */
const SECRET_HEADER_MAPS = new Set(["otlp.headers"]);

/** Maps of HTTP headers: a value is secret when its name says credential, or its value carries an auth scheme. */
const HEADER_MAPS = new Set(["headers"]);
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|api-?key|auth|password|session/i;
const AUTH_SCHEME_VALUE = /^(bearer|basic|digest|token|apikey)\s+\S/i;

/** `scheme://user:password@host` (any scheme): the password, or a lone user-as-token, is hidden. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::([^\s/@]*))?@/gi;

/**
 * Command-line arguments of stdio upstreams: `--api-key sk-...`, `--token=...`, `-p secret`. A flag
 * whose name says credential hides its value (the next argument, or what follows `=`); other
 * arguments only get the free-text treatment (URL userinfo, `Bearer ...`).
 */
const ARG_LISTS = new Set(["args"]);
const SECRET_FLAG = /^--?([a-z0-9]+[-_])*(token|secret|password|passwd|pass|pw|api[-_]?key|apikey|key|private[-_]key|credentials?|auth)$/i;

function redactArgs(args: unknown[]): unknown[] {
  const out: unknown[] = [];
  let hideNext = false;
  for (const arg of args) {
    if (typeof arg !== "string") {
      out.push(walk(arg, undefined, undefined));
      hideNext = false;
      continue;
    }
    if (hideNext && !arg.startsWith("-")) {
      out.push(REDACTED);
      hideNext = false;
      continue;
    }
    const eq = arg.indexOf("=");
    if (arg.startsWith("-") && eq > 0 && SECRET_FLAG.test(arg.slice(0, eq))) {
      out.push(`${arg.slice(0, eq)}=${REDACTED}`);
      hideNext = false;
      continue;
    }
    hideNext = SECRET_FLAG.test(arg);
    out.push(redactText(arg));
  }
  return out;
}

/** `Bearer <token>` inside free text (error messages, log lines). */
const BEARER_IN_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g;

/** Hides credentials inside one string: URL userinfo and `Bearer ...` tokens. Other text is unchanged. */
export function redactText(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, scheme: string, user: string, pass: string | undefined) =>
      pass !== undefined ? `${scheme}${user}:${REDACTED}@` : user ? `${scheme}${REDACTED}@` : `${scheme}@`,
    )
    .replace(BEARER_IN_TEXT, (_m, scheme: string) => `${scheme} ${REDACTED}`);
}

function secretLeaf(parent: string | undefined, key: string, value: unknown): boolean {
  if (typeof value !== "string" || value === "") return false;
  if (parent !== undefined && SECRET_MAPS.has(parent)) return true;
  if (parent !== undefined && HEADER_MAPS.has(parent)) return CREDENTIAL_HEADER.test(key) || AUTH_SCHEME_VALUE.test(value);
  return SECRET_KEY.test(key);
}

/** Every string of a map in SECRET_HEADER_MAPS hidden (keys stay: which headers are sent is not secret). */
function hideValues(map: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, typeof v === "string" && v !== "" ? REDACTED : walk(v, undefined, k)]));
}

function walk(value: unknown, parent: string | undefined, key: string | undefined): unknown {
  if (key !== undefined && secretLeaf(parent, key, value)) return REDACTED;
  if (value && typeof value === "object" && !Array.isArray(value) && SECRET_HEADER_MAPS.has(`${parent}.${key}`)) return hideValues(value);
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return key !== undefined && ARG_LISTS.has(key) ? redactArgs(value) : value.map((v) => walk(v, key, String(key)));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, key, k)]));
  }
  return value;
}

/**
 * A copy of `value` (the whole config, or the part at `path`, e.g.
 * `upstreams.1.headers`) with every secret replaced by `[redacted]`.
 * The path gives the context: `headers` at its end means `value` is a header map.
 */
export function redactConfig(value: unknown, path = ""): unknown {
  const parts = path ? path.split(".") : [];
  const key = parts.length ? parts[parts.length - 1] : undefined;
  const parent = parts.length > 1 ? parts[parts.length - 2] : undefined;
  // Array indexes are not names: `upstreams.1` is judged as an entry of `upstreams` (as walk() does).
  if (key !== undefined && /^\d+$/.test(key) && parent !== undefined) return walk(value, parent, parent);
  // One header of a map whose values are all secret (`telemetry.otlp.headers.x-api-team`).
  if (parts.length > 2 && SECRET_HEADER_MAPS.has(`${parts[parts.length - 3]}.${parent}`) && typeof value === "string" && value !== "") return REDACTED;
  return walk(value, parent, key);
}
