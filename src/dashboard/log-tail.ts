import type { GatewayConfig } from "../config/schema.js";
import type { ConfigStore } from "../config/store.js";
import { levelOf, subscribeLogLines, type LogLines } from "../telemetry/logger.js";
import { redactConfig, redactText } from "../config/redact.js";
import { truncate, truncateFields } from "../errors/truncate.js";

/** One line of the console's live log tail. */
export interface TailLine {
  /** ms epoch. */
  t: number;
  level: "trace" | "debug" | "info" | "warn" | "error";
  component: string;
  msg: string;
  client_id?: string;
  upstream?: string;
  fields: Record<string, unknown>;
}

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 } as const;

/**
 * The live log tail: the same lines the log files get (one mapping,
 * subscribeLogLines), at the same level (`logging.level`, lowered by
 * `debug`), cut and redacted the same way, kept in a ring of the last
 * `cap` lines. Subscribed only while a console is open.
 */
export class LogTail {
  readonly #ring: TailLine[] = [];
  #fresh: TailLine[] = [];
  #lines?: LogLines;
  #floor: number = LEVELS.info;
  readonly #onChange = ({ config }: { config: GatewayConfig }) => this.#apply(config);

  constructor(
    private readonly store: ConfigStore,
    readonly cap = 500,
  ) {}

  start(): void {
    if (this.#lines) return;
    const c = this.store.current;
    const maxField = c.diagnostics?.max_string_length ?? 512;
    this.#lines = subscribeLogLines(c, (level, fields, msg) => {
      if (LEVELS[level] < this.#floor) return;
      const clean = redactConfig(truncateFields(fields, maxField)) as Record<string, unknown>;
      const { component, client_id, upstream, ...rest } = clean;
      for (const k of Object.keys(rest)) if (rest[k] === undefined) delete rest[k];
      const line: TailLine = { t: Date.now(), level, component: String(component ?? ""), msg: redactText(truncate(msg, 8 * maxField)), fields: rest };
      if (typeof client_id === "string") line.client_id = client_id;
      if (typeof upstream === "string") line.upstream = upstream;
      this.#ring.push(line);
      if (this.#ring.length > this.cap) this.#ring.shift();
      this.#fresh.push(line);
      if (this.#fresh.length > this.cap) this.#fresh.shift();
    });
    this.#apply(c);
    this.store.on("change", this.#onChange);
  }

  stop(): void {
    this.#lines?.close();
    this.#lines = undefined;
    this.store.off("change", this.#onChange);
    this.#fresh = [];
  }

  #apply(c: GatewayConfig): void {
    this.#floor = LEVELS[levelOf(c)];
    this.#lines?.apply(c);
  }

  /** The kept lines, oldest first (what a console that just opened gets). */
  recent(): TailLine[] {
    return [...this.#ring];
  }

  /** Lines since the previous call. */
  take(): TailLine[] {
    const out = this.#fresh;
    this.#fresh = [];
    return out;
  }
}
