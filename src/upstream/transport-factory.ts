import type { UpstreamConfig } from "../config/schema.js";
import type { Transport } from "../protocol/transport.js";
import type { ReplicaSpec } from "./replica.js";
import { StdioUpstreamTransport } from "./transports/stdio.js";
import { StreamableHttpUpstreamTransport } from "./transports/streamable-http.js";
import { SseUpstreamTransport } from "./transports/sse.js";
import { WebSocketUpstreamTransport } from "./transports/websocket.js";

/** The default factory: one transport kind per `transport:` value. */
export function createUpstreamTransport(upstream: UpstreamConfig, replica: ReplicaSpec): Transport {
  switch (upstream.transport) {
    case "stdio":
      return new StdioUpstreamTransport({ command: upstream.command!, args: upstream.args, env: upstream.env, cwd: upstream.cwd, name: replica.id });
    case "streamable_http":
      return new StreamableHttpUpstreamTransport({ url: replica.url!, headers: upstream.headers, name: replica.id });
    case "sse":
      return new SseUpstreamTransport({ url: replica.url!, headers: upstream.headers, name: replica.id });
    case "websocket":
      return new WebSocketUpstreamTransport({ url: replica.url!, headers: upstream.headers, name: replica.id });
  }
}

/** The replica list of an upstream: N children for stdio, one per URL otherwise. */
export function replicaSpecs(upstream: UpstreamConfig): ReplicaSpec[] {
  if (upstream.transport === "stdio") {
    return Array.from({ length: upstream.replicas }, (_, i) => ({ id: `${upstream.name}#${i}`, index: i, weight: 1 }));
  }
  const urls = upstream.urls?.length ? upstream.urls : [upstream.url!];
  return urls.map((u, i) => (typeof u === "string" ? { id: `${upstream.name}#${i}`, index: i, url: u, weight: 1 } : { id: `${upstream.name}#${i}`, index: i, url: u.url, weight: u.weight }));
}
