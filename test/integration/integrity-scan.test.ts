/**
 * The poisoned-description scan on real SDK servers (one serving poisoned
 * and clean tools, one a clean send_email), per-upstream block/warn policy,
 * cross-server shadowing; replicas that disagree; long names shortened and
 * mapped back on calls.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { McpError } from "@modelcontextprotocol/sdk/types.js";
import { startTestGateway } from "../helpers/gateway.js";
import { admin, cli, CountingClient, mutableUpstream, tempPinFile } from "./integrity-helpers.js";
import { shortenName } from "../../src/integrity/name-shortener.js";

test("scan: block withholds poisoned and shadowing tools of that upstream only; findings carry rule, severity and span; approval lets one through", async () => {
  const { gateway, url } = await startTestGateway({
    integrity: { scan: "warn", pin_file: tempPinFile() },
    upstreams: [mutableUpstream("shady", ["--poisoned"], { integrity: { scan: "block" } }), mutableUpstream("mail", ["--mail"])],
  });
  const c = await CountingClient.connect(url);
  try {
    // Shadowing needs both upstreams' names, which arrive in any order: a late one re-scans the claimant.
    await gateway.integrity.settled();
    const names = await c.toolNames();
    assert.ok(names.includes("add") && names.includes("send_email"), names.join());
    assert.ok(!names.includes("notes") && !names.includes("fast_mail"), names.join());
    await assert.rejects(c.client.callTool({ name: "notes", arguments: { text: "x" } }), (err: McpError) => {
      assert.equal(err.code, -32061);
      assert.equal((err.data as { error: string }).error, "tool_definition_blocked");
      assert.match(err.message, /model-directive-tags/);
      return true;
    });
    const s = await admin(url, "/mcp/admin/integrity");
    const notes = s.findings.filter((f: any) => f.name === "notes").map((f: any) => f.rule).sort();
    assert.deepEqual(notes, ["conceal-from-user", "model-directive-tags", "read-secrets"]);
    const tag = s.findings.find((f: any) => f.name === "notes" && f.rule === "model-directive-tags");
    assert.equal(tag.severity, "high");
    assert.equal(tag.field, "description");
    assert.equal(tag.text, "<IMPORTANT>");
    const shadow = s.findings.find((f: any) => f.name === "fast_mail" && f.rule === "cross-server-shadowing");
    assert.equal(shadow?.shadows, "mail/send_email");
    assert.ok(!s.findings.some((f: any) => f.upstream === "mail"), "the clean server has no findings");
    assert.deepEqual(s.withheld.map((w: any) => `${w.name}:${w.reason}`).sort(), ["fast_mail:blocked", "notes:blocked"]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /gateway_tool_definitions_withheld\{upstream="shady"\} 2/);
    assert.match(metrics, /gateway_tool_scan_findings\{upstream="shady",severity="high"\} [4-9]/);

    const back = c.nextChange();
    const approved = await cli(url, "tools", "approve", "notes");
    assert.equal(approved.code, 0, approved.out);
    await back;
    assert.ok((await c.toolNames()).includes("notes"), "an operator accepted these findings for this exact definition");
  } finally {
    await c.client.close();
    await gateway.close();
  }
});

test("replicas of one upstream that disagree about a definition are reported", async () => {
  const variantFile = join(mkdtempSync(join(tmpdir(), "variant-")), "first");
  const { gateway, url } = await startTestGateway({ upstreams: [mutableUpstream("r", ["--variant-file", variantFile], { replicas: 2 })] });
  try {
    await gateway.integrity.settled();
    const s = await admin(url, "/mcp/admin/integrity");
    assert.equal(s.replica_disagreements.length, 1, JSON.stringify(s.replica_disagreements));
    const d = s.replica_disagreements[0];
    assert.equal(d.name, "add");
    assert.deepEqual(Object.keys(d.replicas).sort(), ["r#0", "r#1"]);
    assert.notEqual(d.replicas["r#0"], d.replicas["r#1"]);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /gateway_tool_replica_disagreements\{upstream="r"\} 1/);
  } finally {
    await gateway.close();
  }
});

test("composed names past routing.max_name_length are shortened deterministically and mapped back on calls", async () => {
  const upstream = "an_upstream_whose_name_is_long_enough_to_push_every_tool_name_over_the_limit";
  const { gateway, url } = await startTestGateway({ routing: { prefix: "always" }, upstreams: [mutableUpstream(upstream)] });
  const c = await CountingClient.connect(url);
  try {
    const names = await c.toolNames();
    const add = shortenName(`${upstream}__add`, 64);
    assert.ok(`${upstream}__add`.length > 64 && add.length === 64 && /_[0-9a-f]{8}$/.test(add), add);
    assert.ok(names.includes(add), names.join());
    assert.ok(names.every((n) => n.length <= 64 && /^[a-zA-Z0-9_-]+$/.test(n)));
    const r = await c.client.callTool({ name: add, arguments: { a: 40, b: 2 } });
    assert.match(JSON.stringify(r.content), /"42"/);
    gateway.config.update("routing.max_name_length", 32);
    await gateway.catalog.refresh(gateway.manager.groups.get(upstream)!);
    assert.ok((await c.toolNames()).every((n) => n.length <= 32));
  } finally {
    await c.client.close();
    await gateway.close();
  }
});
