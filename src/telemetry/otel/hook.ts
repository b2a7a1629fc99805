/**
 * The one seam between the message path and OpenTelemetry. The relay holds a
 * `RelayTracer` (undefined when telemetry is off: one property check per
 * message, no SDK loaded) and a forwarded call carries a `CallTrace` (on
 * `PendingCall.trace`) that the upstream connection tells about each attempt
 * it sends. Types only: core code imports nothing from the SDK.
 */
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from "../../protocol/jsonrpc.js";
import type { CallerContext } from "../../protocol/caller-context.js";
import type { PendingCall, UpstreamConnection } from "../../upstream/connection.js";

/** What the relay tells the tracer (src/relay/relay.ts). */
export interface RelayTracer {
  /** Every client message, before the relay looks at it: a request opens a SERVER span, a cancellation ends one. */
  inbound(caller: CallerContext, message: JsonRpcMessage): void;
  /** The answer (result or error) to the caller's request `id` goes out: its SERVER span ends. */
  answered(caller: CallerContext, id: JsonRpcId | null | undefined, message: JsonRpcMessage): void;
  /** The request is forwarded upstream: the trace its attempts report to (undefined: not traced). */
  forwarding(caller: CallerContext, id: JsonRpcId): CallTrace | undefined;
}

/** One forwarded client request, told about each attempt (src/upstream/connection.ts). */
export interface CallTrace {
  /**
   * `connection` is about to send `request` (ids already rewritten): a CLIENT
   * span starts, and its context goes into `request.params._meta`. The trace
   * puts itself in front of `call.sink` to see how the attempt ends.
   */
  sending(connection: UpstreamConnection, request: JsonRpcRequest, call: PendingCall): void;
}
