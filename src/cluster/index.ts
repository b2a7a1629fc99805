import type { Gateway } from "../gateway.js";
import { ClusterService } from "./cluster-service.js";
import { FORWARDED_HEADER } from "./tunnel.js";

export { ClusterService, type ClusterView } from "./cluster-service.js";
export type { ClusterCommand, CommandHandler } from "./commands.js";
export { FORWARDED_HEADER } from "./tunnel.js";

/**
 * Makes a gateway one node of a cluster when `cluster.redis_url` (REDIS_URL)
 * is set; otherwise does nothing and returns undefined (embedded mode, no
 * Redis needed). Wires the listeners' session locator, the health check and
 * `gateway.cluster`. Called once from the Gateway constructor.
 */
export function installCluster(gateway: Gateway): ClusterService | undefined {
  if (!gateway.config.current.cluster.redis_url) return undefined;
  const cluster = new ClusterService(gateway);
  gateway.context.cluster = {
    claim: (id, req, res, local) => cluster.forwarder.claim(id, req, res, local),
    adopt: (id) => cluster.takeover.adopt(id),
    nodeId: cluster.nodeId,
    forwardTo: (node, req, res, body) => cluster.forwarder.forward(node, req, res, body),
    forwarded: (req) => req.headers[FORWARDED_HEADER] !== undefined,
  };
  const previous = gateway.healthSources.extraChecks;
  gateway.healthSources.extraChecks = () => ({ ...(previous?.() ?? {}), cluster: cluster.healthCheck() });
  gateway.healthSources.cluster = () => cluster.view();
  // Hooks are registered at once (sessions created from now on are shared); Redis is awaited in the background.
  void cluster.start();
  return cluster;
}
