import type { Server } from "node:http";
import type { Registry } from "prom-client";
import type { ConfigStore } from "../config/store.js";
import type { GatewayConfig } from "../config/schema.js";
import type { Catalog } from "../routing/catalog.js";
import type { Relay } from "../relay/relay.js";
import type { UpstreamManager } from "../upstream/manager.js";
import type { Router } from "../listeners/router.js";
import { IntegrityService } from "./integrity-service.js";
import { FilePinStore } from "./file-pin-store.js";
import { RedisPinStore } from "./redis-pin-store.js";
import type { PinStore } from "./pin-store.js";
import { registerIntegrityRoutes } from "./admin-routes.js";
import { registerIntegrityMetrics } from "../telemetry/integrity-metrics.js";

/** What the integrity layer plugs into (passed by the composition root, not the whole gateway). */
export interface IntegrityDeps {
  config: ConfigStore;
  catalog: Catalog;
  relay: Relay;
  manager: UpstreamManager;
  router: Router;
  server: Server;
  metrics?: Registry;
}

/** The pin store the config asks for: Redis in a cluster (or when asked), else the pin file. */
export function createPinStore(config: GatewayConfig): PinStore {
  const { store, pin_file } = config.integrity;
  const url = config.cluster.redis_url;
  if (store === "redis" || (store === "auto" && url)) {
    if (!url) throw new Error("integrity.store redis needs cluster.redis_url (or REDIS_URL)");
    return new RedisPinStore(url, config.cluster.key_prefix);
  }
  return new FilePinStore(pin_file);
}

/**
 * Wires tool integrity into a gateway through its two seams: the catalog's
 * `review` (each refreshed list) and the relay's `withheld` (names that did
 * not resolve); plus the name limit, the admin routes and the metrics. The
 * pin store opens on first need (a mode other than off).
 */
export function installIntegrity(deps: IntegrityDeps): IntegrityService {
  const service = new IntegrityService({ config: deps.config, catalog: deps.catalog, manager: deps.manager, createStore: () => createPinStore(deps.config.current) });
  const c = deps.config.current;
  if (c.integrity.mode !== "off" || c.upstreams.some((u) => u.integrity?.mode && u.integrity.mode !== "off")) service.openStore();
  deps.catalog.review = service.review;
  deps.relay.withheld = service.withheld;
  deps.relay.withheldResource = service.withheldResource;
  deps.catalog.maxNameLength = deps.config.current.routing.max_name_length;
  deps.config.on("change", ({ path, config }: { path: string; config: GatewayConfig }) => {
    deps.catalog.maxNameLength = config.routing.max_name_length;
    // A new mode or policy applies at once: every upstream's lists are fetched and reviewed again.
    if (path.startsWith("integrity.")) {
      if (config.integrity.mode !== "off") service.openStore();
      for (const group of deps.manager.groups.values()) void deps.catalog.refresh(group);
    }
  });
  registerIntegrityRoutes(deps.router, deps.config, service);
  if (deps.metrics) registerIntegrityMetrics(deps.metrics, () => service.figures());
  deps.server.once("close", () => void service.close().catch(() => {}));
  return service;
}
