import { SyncWritable } from "./sync-writable.js";

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
/** Fields shown by position, not as key=value. */
const FIXED = new Set(["level", "time", "msg", "component", "pid", "hostname", "client_id"]);

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `2026-01-15 10:23:45.123` (UTC): date first, so `awk '{print $1}'` groups by day. */
export function textTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  return JSON.stringify(v);
}

/**
 * One pino record as the text line operators grep:
 * `2026-01-15 10:23:45.123 [info] MCP.Transport connected client_id=user123 transport=websocket`.
 * Timestamp first, then level, component, message, then `key=value` pairs
 * with `client_id` first so `grep "client_id=user123"` finds every line of a client.
 */
export function formatText(record: Record<string, unknown>): string {
  const level = LEVELS[record.level as number] ?? String(record.level);
  let line = `${textTimestamp(Number(record.time ?? Date.now()))} [${level}] ${record.component ?? "MCP.Gateway"} ${String(record.msg ?? "").replace(/\n/g, "\\n")}`;
  if (record.client_id !== undefined && record.client_id !== null) line += ` client_id=${value(record.client_id)}`;
  for (const [k, v] of Object.entries(record)) {
    if (FIXED.has(k) || v === undefined || v === null) continue;
    line += ` ${k}=${value(v)}`;
  }
  return line + "\n";
}

/**
 * A pino destination that rewrites each JSON record as a text line before
 * passing it on (pino serializes JSON; the text format is a view of it).
 */
export class TextLines extends SyncWritable {
  constructor(readonly target: { write(s: string): unknown }) {
    super();
  }

  protected override writeText(text: string): void {
    for (const json of text.split("\n")) {
      if (!json) continue;
      try {
        this.target.write(formatText(JSON.parse(json)));
      } catch {
        this.target.write(json + "\n");
      }
    }
  }
}
