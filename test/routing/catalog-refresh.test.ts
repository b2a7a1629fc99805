import { test } from "node:test";
import assert from "node:assert/strict";
import { Catalog } from "../../src/routing/catalog.js";
import type { UpstreamGroup, UpstreamManager } from "../../src/upstream/manager.js";

/** A group whose connection answers tools/list from a script. */
function fakeGroup(answers: Array<Record<string, unknown> | Error>): UpstreamGroup {
  const connection = {
    identity: { capabilities: { tools: {} } },
    request: async () => {
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next!;
    },
  };
  return { name: "u", config: { name: "u" }, anyConnection: () => connection, ready: () => [{}], replicas: [] } as unknown as UpstreamGroup;
}

test("a failed list refresh keeps the last good list", async () => {
  const group = fakeGroup([{ tools: [{ name: "a" }] }, new Error("upstream hiccup")]);
  const manager = { groups: new Map([["u", group]]) } as unknown as UpstreamManager;
  const catalog = new Catalog(manager, "conditional");
  await catalog.refresh(group, ["tools"]);
  assert.deepEqual(catalog.list("tools").map((t) => t.name), ["a"]);
  await catalog.refresh(group, ["tools"]);
  assert.deepEqual(catalog.list("tools").map((t) => t.name), ["a"], "still there after a failed refresh");
  assert.ok(catalog.resolveTool("a"));
});
