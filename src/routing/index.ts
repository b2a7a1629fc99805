export { Catalog, LIST_KINDS, NAMESPACE_SEPARATOR, type ListKind, type Target, type PrefixMode } from "./catalog.js";
export { HashRing, hashKey, type RingNode, type RingShare } from "./hash-ring.js";
export { FlapDamper, type FlapPolicy, type OscillationInfo } from "./failover.js";
export { ReplicaRouter, type ReplicaHealth, type GroupRoute } from "./replica-router.js";
