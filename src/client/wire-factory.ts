/**
 * Builds the wire for a transport kind. The client takes a factory so unit
 * tests can drive it with scripted wires (and fake timers) instead of sockets.
 */
import { LegacySseWire } from "./wire-legacy-sse.js";
import { HttpStreamState, StreamableHttpWire } from "./wire-streamable-http.js";
import { WebSocketWire } from "./wire-websocket.js";
import type { TransportKind, Wire, WireConfig, WireEvents } from "./wire.js";

/** A wire the client can also force down when the connection looks dead. */
export interface ClientWire extends Wire {
  /** Drops the connection and reports it closed (heartbeat timeout). */
  abort(): void;
}

/** Makes one wire. `http` is the Streamable HTTP stream state that outlives wires. */
export type WireFactory = (kind: TransportKind, config: WireConfig, events: WireEvents, http: HttpStreamState) => ClientWire;

/** The real wires. */
export const createWire: WireFactory = (kind, config, events, http) => {
  switch (kind) {
    case "websocket":
      return new WebSocketWire(config, events);
    case "streamable_http":
      return new StreamableHttpWire(config, events, http);
    case "http_sse":
      return new LegacySseWire(config, events);
    default:
      throw new TypeError(`unknown transport ${String(kind)}`);
  }
};
