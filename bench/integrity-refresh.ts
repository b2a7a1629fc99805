/**
 * What tool integrity costs per catalog refresh: IntegrityService.review()
 * (model view, RFC 8785 canonical JSON, two SHA-256, the poisoned-description
 * scan, the pin verdict) over one upstream's list of N tools, for each mode.
 * The call path pays nothing (test/integration/integrity-drift.test.ts
 * counts fingerprints around 25 calls).
 *
 *   node --import tsx bench/integrity-refresh.ts [--tools 1000] [--rounds 30]
 */
import { validateConfig } from "../src/config/index.js";
import { ConfigStore } from "../src/config/store.js";
import { IntegrityService } from "../src/integrity/integrity-service.js";
import type { Pin, PinStore } from "../src/integrity/pin-store.js";
import type { Catalog } from "../src/routing/catalog.js";
import type { UpstreamGroup, UpstreamManager } from "../src/upstream/manager.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const TOOLS = arg("tools", 1000);
const ROUNDS = arg("rounds", 30);

/** Tools shaped like real ones: a sentence or two of description, 3-6 typed parameters with descriptions, annotations. */
function tools(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({
    name: `tool_${i}`,
    title: `Tool number ${i}`,
    description: `Searches the ${i % 7 === 0 ? "issue tracker" : "document index"} for items matching the query and returns up to limit results, newest first. Results include id, title and a short excerpt.`,
    inputSchema: {
      type: "object",
      properties: Object.fromEntries(Array.from({ length: 3 + (i % 4) }, (_, p) => [`param_${p}`, { type: p % 2 ? "number" : "string", description: `The ${p}th parameter of tool ${i}: what to look for` }])),
      required: ["param_0"],
    },
    annotations: { readOnlyHint: i % 2 === 0, openWorldHint: false },
    _meta: { ignored: true },
  }));
}

class MemoryPins implements PinStore {
  readonly kind = "file" as const;
  pins: Pin[] = [];
  async load() {
    return this.pins;
  }
  async put(p: Pin) {
    this.pins.push(p);
  }
  async delete() {}
  onChange() {}
  async close() {}
}

async function measure(mode: "off" | "record" | "enforce", scan: "off" | "warn" | "block"): Promise<{ median: number; p90: number; cpu: number }> {
  const config = new ConfigStore(validateConfig({ logging: { dir: "", stdout: false }, integrity: { mode, scan } }));
  const group = { name: "u", replicas: [{}], config: {} } as unknown as UpstreamGroup;
  const manager = { groups: new Map([["u", group]]) } as unknown as UpstreamManager;
  const catalog = { maxNameLength: 64, refresh: async () => {} } as unknown as Catalog;
  const store = new MemoryPins();
  const service = new IntegrityService({ config, catalog, manager, createStore: () => store });
  const list = tools(TOOLS);
  await service.review(group, "tools", list); // warm-up; record pins everything here
  const times: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const items = structuredClone(list); // a refresh brings freshly parsed objects
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const visible = await service.review(group, "tools", items);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
    if (visible.length !== (mode === "enforce" ? 0 : TOOLS)) throw new Error(`unexpected ${visible.length} visible`);
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  // CPU time as well as wall time: on a shared machine the wall clock mostly measures waiting for a core.
  return { median: times[Math.floor(times.length / 2)]!, p90: times[Math.floor(times.length * 0.9)]!, cpu: cpus[Math.floor(cpus.length / 2)]! };
}

console.log(`integrity review of one refresh of ${TOOLS} tools, ${ROUNDS} rounds (node ${process.version}, load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)})`);
for (const [mode, scan] of [["off", "off"], ["off", "warn"], ["record", "off"], ["record", "warn"], ["enforce", "block"]] as const) {
  const { median, p90, cpu } = await measure(mode, scan);
  console.log(`mode ${mode.padEnd(7)} scan ${scan.padEnd(5)}  wall median ${median.toFixed(1)} ms  p90 ${p90.toFixed(1)} ms  cpu median ${cpu.toFixed(1)} ms  (${((cpu * 1000) / TOOLS).toFixed(1)} µs cpu per tool)`);
}
