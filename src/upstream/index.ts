export { UpstreamConnection, type PendingCall, type CallSink, type UpstreamIdentity } from "./connection.js";
export { Replica, type ReplicaSpec, type ReplicaState, type TransportFactory } from "./replica.js";
export { UpstreamManager, UpstreamGroup, fnv1a, type ReplicaPicker, type Sender } from "./manager.js";
export { createUpstreamTransport, replicaSpecs } from "./transport-factory.js";
