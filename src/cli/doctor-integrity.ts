import { AdminError, type AdminClient } from "./admin-client.js";
import type { Finding } from "./doctor-tree.js";

/**
 * The doctor's tool-integrity check (docs/integrity.md), from
 * `GET /mcp/admin/integrity`: withheld definitions fail (clients miss tools
 * until an operator acts); drift, replica disagreement and medium/high scan
 * findings warn. A gateway without the route is skipped.
 */
export async function integrityFinding(c: AdminClient): Promise<Finding> {
  const s = await c.get<any>("/mcp/admin/integrity").catch((err) => (err instanceof AdminError && err.status === 404 ? undefined : Promise.reject(err)));
  const base = { branch: "gateway" as const, check: "tool integrity" };
  if (!s) return { ...base, status: "skip", evidence: "this gateway has no integrity layer" };
  const head = `mode ${s.mode}, scan ${s.scan}`;
  if (s.withheld.length) {
    return {
      ...base,
      status: "fail",
      evidence: `${head}; withheld from clients: ${s.withheld.slice(0, 5).map((w: any) => `${w.upstream}/${w.name} (${w.reason}${w.renamed_from ? ` from ${w.renamed_from}` : ""})`).join(", ")}`,
      fix: s.withheld.slice(0, 3).flatMap((w: any) => [`mcp-gateway tools diff ${w.name} --upstream ${w.upstream}`, `mcp-gateway tools approve ${w.name} --upstream ${w.upstream}`]),
    };
  }
  const problems: string[] = [];
  if (s.drifted.length) problems.push(`drifted from their pins: ${s.drifted.slice(0, 5).map((d: any) => `${d.upstream}/${d.name} (${d.status})`).join(", ")}`);
  if (s.replica_disagreements.length) problems.push(`replicas disagree about ${s.replica_disagreements.slice(0, 5).map((d: any) => `${d.upstream}/${d.name}`).join(", ")}`);
  const serious = s.findings.filter((f: any) => f.severity !== "low");
  if (serious.length) problems.push(`scan findings: ${serious.slice(0, 5).map((f: any) => `${f.upstream}/${f.name} ${f.rule} (${f.severity})`).join(", ")}`);
  if (problems.length) return { ...base, status: "warn", evidence: `${head}; ${problems.join("; ")}`, fix: ["mcp-gateway tools list", ...s.drifted.slice(0, 2).map((d: any) => `mcp-gateway tools diff ${d.name} --upstream ${d.upstream}`)] };
  return { ...base, status: "ok", evidence: `${head}; ${s.counts.definitions} definition(s), ${s.counts.pinned} pinned, none withheld or drifted` };
}
