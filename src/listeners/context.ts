import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcMessage } from "../protocol/jsonrpc.js";
import type { GatewayError } from "../errors/index.js";
import type { ConfigStore } from "../config/store.js";
import type { Session } from "../session/session.js";
import type { SessionRegistry } from "../session/registry.js";
import type { Authenticator } from "./identity.js";

/**
 * What every listener needs from the gateway, injected so listeners stay
 * ignorant of auth, rate limiting and the relay behind `dispatch`.
 */
export interface ListenerContext {
  config: ConfigStore;
  registry: SessionRegistry;
  /** Establishes identity when a session starts. */
  authenticate: Authenticator;
  /** Re-verifies a later request of an existing session; null when fine. */
  verify(req: IncomingMessage, session: Session): Promise<GatewayError | null> | GatewayError | null;
  /** Answers an auth failure the way the auth layer wants (401 + WWW-Authenticate, ...). */
  refuse(res: ServerResponse, err: GatewayError): void;
  /** Hands one parsed client message to the middleware chain and the relay. */
  dispatch(session: Session, message: JsonRpcMessage): void;
  /** A client connection opened. */
  onConnected(session: Session, req: IncomingMessage): void;
  /** A client connection closed (closeCode for WebSocket; 1006 when it vanished). */
  onDisconnected(session: Session, closeCode?: number, reason?: string): void;
  /** A session resumed from an event id (telemetry, transport switch detection). */
  onResume?(session: Session, lastSeq: number, res?: ServerResponse): void;
}
