/**
 * Rug pulls against a real SDK upstream that changes a tool's description
 * and schema at runtime and sends list_changed: record reports the drift,
 * enforce withholds the tool from every client (one list_changed each) and
 * refuses its calls until approved; rollback and renames.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { startTestGateway } from "../helpers/gateway.js";
import { admin, cli, CountingClient, mutableUpstream, tempPinFile } from "./integrity-helpers.js";
import { fingerprintCounter } from "../../src/integrity/fingerprint.js";

test("record: the first definitions are pinned to the file; a runtime change is reported with a diff, counted, and stays exposed", async () => {
  const pinFile = tempPinFile();
  const { gateway, url } = await startTestGateway({ integrity: { mode: "record", pin_file: pinFile }, upstreams: [mutableUpstream("m")] });
  const c = await CountingClient.connect(url);
  try {
    const pins = JSON.parse(readFileSync(pinFile, "utf8"));
    assert.match(pins.pins.m.tools.add.fingerprint, /^sha256:[0-9a-f]{64}$/);
    assert.equal(pins.pins.m.tools.add.definition.description, "Adds two numbers");
    const changed = c.nextChange();
    await c.client.callTool({ name: "mutate", arguments: {} });
    await changed;
    assert.ok((await c.toolNames()).includes("add"), "record mode keeps exposing the drifted tool");
    const s = await admin(url, "/mcp/admin/integrity");
    const drift = s.drifted.find((d: any) => d.name === "add");
    assert.equal(drift.status, "changed");
    assert.ok(drift.diff.some((l: string) => l.startsWith('~ description: "Adds two numbers" -> "Adds two numbers. <IMPORTANT>')), drift.diff.join("\n"));
    assert.ok(drift.diff.some((l: string) => l.startsWith("+ inputSchema.properties.note:")), drift.diff.join("\n"));
    assert.ok(s.findings.some((f: any) => f.name === "add" && f.rule === "model-directive-tags"), "the changed description is scanned too");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /gateway_tool_definition_drift_total\{upstream="m",kind="tools",type="changed"\} 1/);
    assert.equal(JSON.parse(readFileSync(pinFile, "utf8")).pins.m.tools.add.definition.description, "Adds two numbers", "record never moves a pin by itself");
    const doctor = await cli(url, "doctor");
    assert.match(doctor.out, /\[WARN\] tool integrity: mode record, scan warn; drifted from their pins: m\/add \(changed\)/);
    assert.ok(pins.pins.m.prompts.greet, "prompts are recorded too");
  } finally {
    await c.client.close();
    await gateway.close();
  }
});

test("enforce: the changed tool leaves every client's list with one list_changed, calls are refused, approval brings it back", async () => {
  const pinFile = tempPinFile("yaml");
  const { gateway, url } = await startTestGateway({ integrity: { mode: "enforce", pin_file: pinFile }, upstreams: [mutableUpstream("m")] });
  const a = await CountingClient.connect(url);
  const b = await CountingClient.connect(url, "sse");
  try {
    assert.deepEqual(await a.toolNames(), [], "enforce with no pins exposes nothing");
    await assert.rejects(a.client.callTool({ name: "add", arguments: { a: 1, b: 2 } }), (err: McpError) => err.code === -32060 && /was never pinned/.test(err.message));
    assert.deepEqual((await a.client.listPrompts()).prompts, [], "prompts are pinned too");
    await assert.rejects(a.client.getPrompt({ name: "greet", arguments: { who: "x" } }), (err: McpError) => err.code === -32060);
    const pinned = [a.nextChange(), b.nextChange()];
    const pinAll = await cli(url, "tools", "pin", "--all");
    assert.equal(pinAll.code, 0, pinAll.out);
    await Promise.all(pinned);
    assert.deepEqual(await b.toolNames(), ["add", "mutate", "rename", "revert"]);
    assert.match(JSON.stringify((await b.client.getPrompt({ name: "greet", arguments: { who: "Ada" } })).messages), /Hello Ada/);
    const listed = await cli(url, "tools", "list");
    assert.match(listed.out, /^add\s+m\s+tools\s+add\s+pinned/m);

    const before = { a: a.changes, b: b.changes };
    const hidden = [a.nextChange(), b.nextChange()];
    await a.client.callTool({ name: "mutate", arguments: {} });
    await Promise.all(hidden);
    assert.deepEqual(await a.toolNames(), ["mutate", "rename", "revert"]);
    assert.deepEqual(await b.toolNames(), ["mutate", "rename", "revert"]);
    await assert.rejects(b.client.callTool({ name: "add", arguments: { a: 1, b: 2 } }), (err: McpError) => {
      assert.equal(err.code, -32060);
      assert.equal((err.data as { error: string }).error, "tool_definition_changed");
      assert.match(err.message, /changed since it was pinned.*mcp-gateway tools approve add/);
      return true;
    });
    assert.deepEqual({ a: a.changes - before.a, b: b.changes - before.b }, { a: 1, b: 1 }, "exactly one list_changed per client");
    const diff = await cli(url, "tools", "diff", "add");
    assert.match(diff.out, /tool add of m: changed, withheld \(changed\)/);
    assert.match(diff.out, /\+ inputSchema\.properties\.note/);
    const doctor = await cli(url, "doctor");
    assert.match(doctor.out, /\[FAIL\] tool integrity: .*withheld from clients: m\/add \(changed\)/);
    assert.match(doctor.out, /fix: mcp-gateway tools approve add --upstream m/);
    const dash = await fetch(`${url}/dashboard/stream`);
    const reader = dash.body!.getReader();
    let text = "";
    while (!text.includes("event: stats")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    assert.match(text, /"integrity":\{"mode":"enforce","definitions":5,"pinned":4,"changed":1,"renamed":0,"new":0,"withheld":1/);

    const back = [a.nextChange(), b.nextChange()];
    const approved = await cli(url, "tools", "approve", "add");
    assert.equal(approved.code, 0, approved.out);
    await Promise.all(back);
    assert.ok((await b.toolNames()).includes("add"));
    const r = await a.client.callTool({ name: "add", arguments: { a: 2, b: 3, note: "n" } });
    assert.match(JSON.stringify(r.content), /"5"/);
    assert.match(readFileSync(pinFile, "utf8"), /by: approve/);
  } finally {
    await a.client.close();
    await b.client.close();
    await gateway.close();
  }
});

test("enforce: rolling the definition back exposes the tool again without approval; a rename is reported as a rename", async () => {
  const pinFile = tempPinFile();
  const { gateway, url } = await startTestGateway({ integrity: { mode: "record", pin_file: pinFile }, upstreams: [mutableUpstream("m", [], { integrity: { mode: "enforce" } })] });
  const c = await CountingClient.connect(url);
  try {
    let changed = c.nextChange();
    assert.equal((await cli(url, "tools", "pin", "--all")).code, 0);
    await changed;
    assert.ok((await c.toolNames()).includes("add"));
    changed = c.nextChange();
    await c.client.callTool({ name: "mutate", arguments: {} });
    await changed;
    assert.ok(!(await c.toolNames()).includes("add"));
    changed = c.nextChange();
    await c.client.callTool({ name: "revert", arguments: {} });
    await changed;
    assert.ok((await c.toolNames()).includes("add"), "the pinned definition is back: exposed again");

    changed = c.nextChange();
    await c.client.callTool({ name: "rename", arguments: {} });
    await changed;
    const names = await c.toolNames();
    assert.ok(!names.includes("add") && !names.includes("sum"));
    const s = await admin(url, "/mcp/admin/integrity");
    assert.deepEqual(s.withheld, [{ upstream: "m", kind: "tools", name: "sum", reason: "renamed", renamed_from: "add" }]);
    await assert.rejects(c.client.callTool({ name: "sum", arguments: { a: 1, b: 1 } }), /is a rename of pinned "add"/);
    changed = c.nextChange();
    await cli(url, "tools", "approve", "sum");
    await changed;
    assert.ok((await c.toolNames()).includes("sum"));
    const pins = JSON.parse(readFileSync(pinFile, "utf8")).pins.m.tools;
    assert.ok(pins.sum && !pins.add, "approving a rename moves the pin");
  } finally {
    await c.client.close();
    await gateway.close();
  }
});

test("switching integrity.mode at runtime re-reviews at once: record -> enforce hides what drifted", async () => {
  const { gateway, url } = await startTestGateway({ integrity: { mode: "record", pin_file: tempPinFile() }, upstreams: [mutableUpstream("m")] });
  const c = await CountingClient.connect(url);
  try {
    let changed = c.nextChange();
    await c.client.callTool({ name: "mutate", arguments: {} });
    await changed;
    assert.ok((await c.toolNames()).includes("add"));
    changed = c.nextChange();
    const set = await cli(url, "config", "set", "integrity.mode", "enforce");
    assert.equal(set.code, 0, set.out);
    await changed;
    assert.deepEqual(await c.toolNames(), ["mutate", "rename", "revert"]);
  } finally {
    await c.client.close();
    await gateway.close();
  }
});

test("fingerprints are computed on refresh only, never per call", async () => {
  const { gateway, url } = await startTestGateway({ integrity: { mode: "record", pin_file: tempPinFile() }, upstreams: [mutableUpstream("m")] });
  const c = await CountingClient.connect(url);
  try {
    await c.toolNames();
    const before = fingerprintCounter.computed;
    for (let i = 0; i < 25; i++) await c.client.callTool({ name: "add", arguments: { a: i, b: 1 } });
    await c.toolNames();
    assert.equal(fingerprintCounter.computed, before, "no fingerprint computed while calling and listing");
  } finally {
    await c.client.close();
    await gateway.close();
  }
});

test("enforce: a withheld resource template cannot be read through the single-owner fallback; pinning brings it back", async () => {
  const pinFile = tempPinFile();
  const { gateway, url } = await startTestGateway({ integrity: { mode: "enforce", pin_file: pinFile }, upstreams: [mutableUpstream("m", ["--template"])] });
  const c = await CountingClient.connect(url);
  try {
    assert.deepEqual((await c.client.listResourceTemplates()).resourceTemplates, [], "enforce with no pins lists no template");
    await assert.rejects(c.client.readResource({ uri: "note://7" }), (err: McpError) => err.code === -32060 && /note:\/\/\{id\} is withheld/.test(err.message));
    const pinned = c.nextChange();
    const pinAll = await cli(url, "tools", "pin", "--all");
    assert.equal(pinAll.code, 0, pinAll.out);
    await pinned;
    assert.deepEqual((await c.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate), ["note://{id}"]);
    assert.deepEqual((await c.client.readResource({ uri: "note://7" })).contents, [{ uri: "note://7", text: "note 7" }]);
  } finally {
    await c.client.close();
    await gateway.close();
  }
});
