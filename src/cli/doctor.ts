import type { Command } from "commander";
import type { AdminClient } from "./admin-client.js";
import { clientFor, coloursOf, fail, type CliState } from "./context.js";
import { walkTree, THRESHOLDS, type Diagnosis, type Finding } from "./doctor-tree.js";

export { THRESHOLDS, walkTree, poolEvidence, type Finding, type Diagnosis, type Branch } from "./doctor-tree.js";

/** The findings of the decision-tree walk (see walkTree for the path it took). */
export async function diagnose(c: AdminClient): Promise<Finding[]> {
  return (await walkTree(c)).findings;
}

const MARK = { ok: "[ok]  ", warn: "[WARN]", fail: "[FAIL]", skip: "[skip]" } as const;

/**
 * `mcp-gateway doctor`: walks the troubleshooting guide's decision tree, prints
 * the path it took and each finding with its evidence and fix; `--json` for
 * machines. Exit 1 when anything is wrong (warn or fail), 2 if unreachable.
 */
export function addDoctorCommand(program: Command, state: CliState): void {
  program
    .command("doctor")
    .description("walk the troubleshooting decision tree against the live gateway; exit 1 if anything is wrong")
    .action(async (_opts: unknown, cmd: Command) => {
      const client = clientFor(cmd, state);
      const json = (cmd.optsWithGlobals() as { json?: boolean }).json === true;
      // A walk takes a few dozen requests: say so on a terminal, never in piped or JSON output.
      if (state.io.isTTY && !json) state.io.err(`mcp-gateway doctor: walking the decision tree against ${client.target.url} ...`);
      let d: Diagnosis;
      try {
        d = await walkTree(client);
      } catch (err) {
        fail(state, err, client.target.url);
        if (state.exitCode === 2) state.io.out(`[FAIL] gateway: not reachable at ${client.target.url}\n       fix: systemctl restart mcp-gateway\n       fix: journalctl -u mcp-gateway -n 100`);
        return;
      }
      const problems = d.findings.filter((f) => f.status === "warn" || f.status === "fail");
      if (json) {
        state.io.out(JSON.stringify(d, null, 2));
      } else {
        const p = coloursOf(state);
        const mark = { ok: p.ok(MARK.ok), warn: p.warn(MARK.warn), fail: p.fail(MARK.fail), skip: p.dim(MARK.skip) };
        const lines = [`mcp-gateway doctor: ${client.target.url}`, "path:"];
        for (const step of d.path) lines.push(`  ${step}`);
        for (const f of d.findings) {
          lines.push(`${mark[f.status]} ${f.check}: ${f.evidence}`);
          for (const fix of f.fix ?? []) lines.push(`       fix: ${fix}`);
        }
        lines.push(problems.length ? `${problems.length} problem(s) found` : "no problems found");
        state.io.out(lines.join("\n"));
      }
      if (problems.length) state.exitCode = 1;
    });
}
