import { headers } from "./admin.js";

/** How long without a tick before the figures count as stale (3 missed samples). */
const STALE_AFTER_MS = 3000;

export type LinkState = "connecting" | "live" | "stale" | "disconnected";

/** What the gateway sent last, and the history kept from `hello` plus every tick. */
export interface LiveData {
  hello?: any;
  stats?: any;
  state?: any;
  catalogue?: any[];
  logs: any[];
  /** Times (s epoch) and each series, appended per tick, at most `capacity` points. */
  t: number[];
  series: Map<string, Array<number | null>>;
  capacity: number;
  sampleMs: number;
  lastTickAt: number;
  link: LinkState;
  /** Why the link is down (HTTP status, network error). */
  linkError?: string;
}

type Listener = (kind: string) => void;

/**
 * The console's one live stream: `GET /dashboard/stream`, read with fetch
 * (not EventSource) so the token can go in a header. Reconnects with a
 * growing delay; while it is down, or when ticks stop, the data is marked
 * stale (what is on screen is the last thing seen, and says so).
 */
export class Live {
  readonly data: LiveData = { logs: [], t: [], series: new Map(), capacity: 900, sampleMs: 1000, lastTickAt: 0, link: "connecting" };
  readonly #listeners = new Set<Listener>();
  #abort?: AbortController;
  #retryMs = 1000;

  constructor(private readonly url: string) {
    setInterval(() => this.#checkStale(), 500);
  }

  on(fn: Listener): void {
    this.#listeners.add(fn);
  }

  #emit(kind: string): void {
    for (const fn of this.#listeners) fn(kind);
  }

  #setLink(link: LinkState, error?: string): void {
    if (this.data.link === link && this.data.linkError === error) return;
    this.data.link = link;
    this.data.linkError = error;
    this.#emit("link");
  }

  #checkStale(): void {
    if (this.data.link === "live" && Date.now() - this.data.lastTickAt > STALE_AFTER_MS) this.#setLink("stale", "no update for " + Math.round((Date.now() - this.data.lastTickAt) / 1000) + " s");
  }

  /** (Re)connects; called at start and when the token changes. */
  connect(): void {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    void this.#run(abort).catch((err: Error) => {
      if (abort.signal.aborted) return;
      this.#setLink("disconnected", err.message || String(err));
      setTimeout(() => abort === this.#abort && this.connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 5000);
    });
  }

  async #run(abort: AbortController): Promise<void> {
    if (this.data.link !== "disconnected" && this.data.link !== "stale") this.#setLink("connecting");
    const res = await fetch(this.url, { headers: headers(), signal: abort.signal, cache: "no-store" });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}${res.status === 401 ? ": the console needs the admin or ops token outside dev" : ""}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the gateway ended the stream");
      buf += value;
      let end: number;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = "message";
        let data = "";
        for (const line of frame.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) this.#frame(event, JSON.parse(data));
      }
    }
  }

  #frame(event: string, d: any): void {
    const x = this.data;
    switch (event) {
      case "hello":
        x.hello = d;
        x.capacity = d.capacity;
        x.sampleMs = d.sample_ms;
        x.t = d.history.t;
        x.series = new Map(Object.entries(d.history.series));
        x.logs = d.logs;
        x.catalogue = d.catalogue;
        x.lastTickAt = Date.now();
        this.#retryMs = 1000;
        this.#setLink("live");
        break;
      case "tick": {
        const n = x.t.length;
        x.t.push(d.t);
        for (const [name, arr] of x.series) arr.push(name in d.values ? d.values[name] : null);
        for (const [name, v] of Object.entries<number>(d.values)) if (!x.series.has(name)) x.series.set(name, [...new Array(n).fill(null), v]);
        if (x.t.length > x.capacity) {
          x.t.shift();
          for (const arr of x.series.values()) arr.shift();
        }
        x.lastTickAt = Date.now();
        this.#setLink("live");
        break;
      }
      case "stats":
        x.stats = d;
        break;
      case "state":
        x.state = d;
        break;
      case "logs":
        x.logs.push(...d);
        if (x.logs.length > 2000) x.logs.splice(0, x.logs.length - 2000);
        break;
      case "catalogue":
        x.catalogue = d;
        break;
    }
    this.#emit(event);
  }
}
