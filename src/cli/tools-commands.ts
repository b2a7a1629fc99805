import type { Command } from "commander";
import { action, type CliState } from "./context.js";
import { table } from "./render.js";

interface ListedDefinition {
  upstream: string;
  kind: string;
  name: string;
  exposed: string | null;
  status: string;
  withheld?: string;
  renamed_from?: string;
  fingerprint: string;
  findings: Array<{ rule: string; severity: string }>;
}

/** `tools list`: one row per definition, as clients see it (exposed name, or withheld and why). */
function listLines(r: { definitions: ListedDefinition[] }): string {
  if (!r.definitions.length) return "no definitions seen yet (no upstream listed any, or integrity is off for all of them)";
  return table(
    r.definitions.map((d) => ({
      exposed: d.exposed ?? "(withheld)",
      upstream: d.upstream,
      kind: d.kind,
      name: d.name,
      pin: d.renamed_from ? `${d.status} from ${d.renamed_from}` : d.status,
      withheld: d.withheld ?? "",
      fingerprint: d.fingerprint.slice(7, 19),
      findings: d.findings.map((f) => `${f.rule}(${f.severity})`).join(" "),
    })),
  );
}

/** `tools diff`: status, then one line per changed field. */
function diffLines(r: { item: ListedDefinition & { diff?: string[] }; pinned: unknown; diff: string[] }): string {
  const head = `${r.item.kind.slice(0, -1)} ${r.item.name} of ${r.item.upstream}: ${r.item.status}${r.item.renamed_from ? ` (renamed from ${r.item.renamed_from})` : ""}${r.item.withheld ? `, withheld (${r.item.withheld})` : ""}`;
  const findings = r.item.findings.map((f) => `! ${f.rule} (${f.severity})`);
  if (!r.pinned) return [head, "no pin yet: `mcp-gateway tools approve` pins the current definition", ...findings].join("\n");
  return [head, ...(r.diff.length ? r.diff : ["(same as the pin)"]), ...findings, `current fingerprint ${r.item.fingerprint}`].join("\n");
}

/**
 * `mcp-gateway tools list|diff|approve|pin`: the tool-integrity commands
 * (docs/integrity.md), each a call to the admin API.
 */
export function addToolsCommands(program: Command, state: CliState): void {
  const tools = program.command("tools").description("tool integrity: pinned definitions, drift, approval; `tools list|diff|approve|pin`");
  tools.command("list", { isDefault: true }).description("every tool, prompt and template as clients see them, with pin state and scan findings").action(action(state, (c) => c.get("/mcp/admin/tools"), listLines));
  tools
    .command("diff <name>")
    .description("the pinned and current definition of one name (exposed or upstream name)")
    .option("--upstream <upstream>", "which upstream, when several offer the name")
    .option("--kind <kind>", "tools, prompts or templates")
    .action(action(state, (c, [name], o) => c.get("/mcp/admin/tools/diff", { name, upstream: o.upstream as string | undefined, kind: o.kind as string | undefined }), diffLines));
  tools
    .command("approve <name>")
    .description("pin the current definition of one name (and accept its scan findings); clients see it again")
    .option("--upstream <upstream>", "which upstream, when several offer the name")
    .option("--kind <kind>", "tools, prompts or templates")
    .option("--fingerprint <sha256>", "approve only if the definition is still this one (from tools diff)")
    .action(action(state, (c, [name], o) => c.post("/mcp/admin/tools/approve", { name, upstream: o.upstream, kind: o.kind, fingerprint: o.fingerprint })));
  tools
    .command("pin [name]")
    .description("pin one name, or every definition as it is now (--all)")
    .option("--all", "pin every definition the gateway sees")
    .option("--upstream <upstream>", "which upstream, when several offer the name")
    .action(
      action(state, async (c, [name], o) => {
        if (!o.all && !name) throw new Error("tools pin: give a name or --all");
        return c.post("/mcp/admin/tools/pin", o.all ? { all: true } : { name, upstream: o.upstream });
      }),
    );
}
