export { UpstreamConnection, type PendingCall, type CallSink, type UpstreamIdentity } from "./connection.js";
export { Replica, type ReplicaSpec, type ReplicaState, type TransportFactory } from "./replica.js";
export { UpstreamManager, UpstreamGroup, fnv1a, type ReplicaPicker, type Sender } from "./manager.js";
export { createUpstreamTransport, replicaSpecs } from "./transport-factory.js";
export { LeasePool, type PoolPolicy, type LeaseHandler, type CheckoutFailure } from "./pool.js";
export { CircuitBreaker, type BreakerPolicy, type BreakerEvent, type BreakerKind } from "./circuit-breaker.js";
export { TransportBreakers, CLIENT_TRANSPORTS, type BreakerTransport, type TransportHealth } from "./transport-breakers.js";
export { ResilienceCore, type ResilienceDeps } from "./resilience.js";
export { Resilience, installResilience } from "./resilience-service.js";
