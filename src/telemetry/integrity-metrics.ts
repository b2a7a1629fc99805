import { Counter, Gauge, type Registry } from "./prom.js";
import type { IntegrityFigures } from "../integrity/integrity-service.js";

/**
 * The integrity series (docs/integrity.md), computed at scrape time from the
 * service's figures: nothing is counted on the call path.
 */
export function registerIntegrityMetrics(registry: Registry, figures: () => IntegrityFigures): void {
  const registers = [registry];
  new Counter({
    name: "gateway_tool_definition_drift_total", help: "Definitions that drifted from their pin (type changed or renamed), per upstream and kind", labelNames: ["upstream", "kind", "type"], registers,
    collect() {
      this.reset();
      for (const d of figures().drift) this.inc({ upstream: d.upstream, kind: d.kind, type: d.type }, d.count);
    },
  });
  new Gauge({
    name: "gateway_tool_definitions_withheld", help: "Definitions hidden from clients (enforce drift or scan block), per upstream", labelNames: ["upstream"], registers,
    collect() {
      this.reset();
      for (const w of figures().withheld) this.set({ upstream: w.upstream }, w.count);
    },
  });
  new Gauge({
    name: "gateway_tool_scan_findings", help: "Poisoned-description scan findings in the current definitions, per upstream and severity", labelNames: ["upstream", "severity"], registers,
    collect() {
      this.reset();
      for (const f of figures().findings) this.set({ upstream: f.upstream, severity: f.severity }, f.count);
    },
  });
  new Gauge({
    name: "gateway_tool_replica_disagreements", help: "Definitions the replicas of an upstream disagree about", labelNames: ["upstream"], registers,
    collect() {
      this.reset();
      for (const d of figures().disagreements) this.set({ upstream: d.upstream }, d.count);
    },
  });
}
