// Merged-list changes are an event with many listeners (relay broadcast, resilience caches,
// modern listen streams): subscribing never replaces another listener, a throwing listener
// does not silence the rest, and unsubscribing removes only its own subscription.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Catalog } from "../../src/routing/catalog.js";
import type { UpstreamGroup, UpstreamManager } from "../../src/upstream/manager.js";

function scriptedGroup(answers: Array<Record<string, unknown>>): UpstreamGroup {
  const connection = { identity: { capabilities: { tools: {} } }, request: async () => answers.shift()! };
  return { name: "u", config: { name: "u" }, anyConnection: () => connection, ready: () => [{}], replicas: [] } as unknown as UpstreamGroup;
}

test("every list_changed listener hears a change, in subscription order, despite one that throws", async () => {
  const group = scriptedGroup([{ tools: [{ name: "a" }] }, { tools: [{ name: "a" }, { name: "b" }] }, { tools: [{ name: "b" }] }]);
  const catalog = new Catalog({ groups: new Map([["u", group]]) } as unknown as UpstreamManager, "conditional");
  const heard: string[] = [];
  catalog.onListChanged((kind) => heard.push(`first:${kind}`));
  catalog.onListChanged(() => {
    throw new Error("a broken layer");
  });
  const off = catalog.onListChanged((kind) => heard.push(`third:${kind}`));
  await catalog.refresh(group, ["tools"]);
  assert.deepEqual(heard, ["first:tools", "third:tools"]);
  off();
  await catalog.refresh(group, ["tools"]);
  assert.deepEqual(heard, ["first:tools", "third:tools", "first:tools"], "only the unsubscribed listener stopped hearing");
  assert.equal(catalog.listChangedListeners, 2);
  // The same function subscribed twice is two subscriptions; each unsubscribe removes one.
  const twice = (kind: string) => heard.push(`twice:${kind}`);
  const offA = catalog.onListChanged(twice);
  catalog.onListChanged(twice);
  offA();
  await catalog.refresh(group, ["tools"]);
  assert.deepEqual(heard.slice(3), ["first:tools", "twice:tools"]);
});
