import type { AdminClient } from "./admin-client.js";
import type { CliState } from "./context.js";

/**
 * `mcp-gateway reset` ends every session: on a terminal it says how many and
 * asks for `yes` first. Piped or scripted runs (no terminal to ask on) go
 * ahead, as `--yes` does.
 */
export async function confirmReset(client: AdminClient, state: CliState): Promise<boolean> {
  if (!state.io.isTTY || !state.io.ask) return true;
  const stats = await client.get<{ total: number; sessions: number }>("/mcp/stats").catch(() => undefined);
  const what = stats ? `${stats.total} connection(s) and ${stats.sessions} session(s)` : "every connection and session";
  const answer = await state.io.ask(`This closes ${what} on ${client.target.url} and clears the upstream pools. Type "yes" to go on: `);
  return answer.trim().toLowerCase() === "yes";
}
