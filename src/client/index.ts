/**
 * The gateway's TypeScript client SDK (Node and browsers).
 *
 *   import { GatewayClient } from "mcp-gateway/client";
 *   import { Client } from "@modelcontextprotocol/sdk/client/index.js";
 *   const client = new Client({ name: "app", version: "1.0.0" });
 *   await client.connect(new GatewayClient({ url: "http://127.0.0.1:4000", WebSocket }));
 */
export { GatewayClient, type GatewayClientEvents, type GatewayClientState } from "./gateway-client.js";
export type { GatewayClientOptions, TokenRequest } from "./options.js";
export { GatewayClientError, CLIENT_CALL_LOST_CODE, type GatewayClientErrorCode } from "./errors.js";
export { Backoff, backoffDelay, withJitter, RECONNECT_POLICY, RECOVERY_POLICY, MAX_RECOVERY_ATTEMPTS, type BackoffPolicy } from "./backoff.js";
export { MessageSequencer, type SequencerOptions, type SequencerSink } from "./sequencer.js";
export { FlowController, type FlowOptions, type FlowSink } from "./flow-control.js";
export { TypedEmitter } from "./emitter.js";
export { ENVELOPE_SUBPROTOCOL, BARE_SUBPROTOCOL } from "./wire-websocket.js";
export type { TransportKind, WebSocketConstructor, WebSocketLike, ResumePoint } from "./wire.js";
export type { WireFactory, ClientWire } from "./wire-factory.js";
