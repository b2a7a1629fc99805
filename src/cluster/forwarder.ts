import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError, toGatewayError } from "../errors/index.js";
import { pathOf, readBody, sendError, sendRpcError } from "../listeners/http-util.js";
import { log } from "../telemetry/channels.js";
import type { ClusterService } from "./cluster-service.js";
import { FORWARDED_HEADER, TunnelRequest, TunnelResponse, type TunnelRequestMessage, type TunnelResponseMessage } from "./tunnel.js";

/** A request this node forwarded, waiting for (or streaming) the owner's answer. */
interface Outgoing {
  res: ServerResponse;
  node: string;
}

/** Bound on directory look-ups of a session just created on another node (its entry may be a few ms behind the client). */
const LOOKUP_RETRIES = [10, 40, 100];

/**
 * Request forwarding between nodes over Redis pub/sub. A request naming a
 * session another node holds is shipped whole (method, url, headers, body)
 * to the owner's channel; the owner runs its ordinary listener on it (auth,
 * rate limits, relay, all unchanged) with a TunnelResponse that ships the
 * answer back piece by piece, and this node writes it to its client. A JSON
 * answer costs two messages; an SSE stream one per event. `PUBLISH` says how
 * many nodes got the request: 0 means the owner is dead, and the session is
 * taken over here instead.
 */
export class Forwarder {
  readonly #outgoing = new Map<string, Outgoing>();
  readonly #serving = new Map<string, TunnelResponse>();
  #seq = 0;
  readonly #prefix = randomBytes(4).toString("hex");

  constructor(readonly cluster: ClusterService) {}

  /** ListenerContext.cluster.claim (see SessionLocator). */
  async claim(id: string, req: IncomingMessage, res: ServerResponse, local: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<boolean> {
    const cluster = this.cluster;
    // One hop only: a forwarded request that misses here is answered here (404), never bounced on.
    if (req.headers[FORWARDED_HEADER] !== undefined || !cluster.link.up) return false;
    const entry = await this.#lookup(id);
    if (!entry) return false;
    if (entry.node === cluster.nodeId) {
      // The directory says this node, the registry disagrees (it ended here, or restarted): rebuild from the log.
      await cluster.takeover.adopt(id, entry);
      return false;
    }
    let body = "";
    if (req.method === "POST") {
      try {
        body = await readBody(req, cluster.gateway.config.current.server.body_limit);
      } catch (err) {
        sendRpcError(res, toGatewayError(err));
        return true;
      }
    }
    const sent = await this.forward(entry.node, req, res, body);
    if (sent === "forwarded") return true;
    if (sent === "unreachable") {
      sendError(res, new GatewayError("cluster_node_lost", { node: entry.node }), { "retry-after": "1" });
      return true;
    }
    // Nobody listens on the owner's channel: it died. Take the session over and serve the request here.
    if (!(await cluster.takeover.adopt(id, entry))) return false;
    await local(new TunnelRequest(req.method ?? "POST", req.url ?? "/", req.headers, body, req.socket.remoteAddress).asIncoming(), res);
    return true;
  }

  /**
   * Ships one HTTP request (its body already read) to `node`, whose ordinary
   * listeners answer it; the answer streams back to `res`. "forwarded": the
   * node got it; "gone": nobody listens on its channel (it died);
   * "unreachable": the bus is down. Used for sessions (claim) and for MRTR
   * retries whose held call lives on another node (the modern wire).
   */
  async forward(node: string, req: IncomingMessage, res: ServerResponse, body: string): Promise<"forwarded" | "gone" | "unreachable"> {
    const cluster = this.cluster;
    if (!cluster.link.up) return "unreachable";
    const corr = `${this.#prefix}.${++this.#seq}`;
    const message: TunnelRequestMessage = {
      t: "req",
      c: corr,
      f: cluster.nodeId,
      m: req.method ?? "GET",
      u: req.url ?? "/",
      h: { ...req.headers, [FORWARDED_HEADER]: cluster.nodeId },
      b: body,
      r: req.socket.remoteAddress,
    };
    // Registered before publishing: the owner's first answer may arrive before PUBLISH returns.
    this.#outgoing.set(corr, { res, node });
    let receivers = 0;
    try {
      receivers = await cluster.bus.publish(cluster.keys.nodeChannel(node), JSON.stringify(message));
    } catch {
      receivers = -1;
    }
    if (receivers > 0) {
      cluster.counters.forwarded++;
      res.once("close", () => {
        if (this.#outgoing.delete(corr)) void cluster.bus.publish(cluster.keys.nodeChannel(node), JSON.stringify({ t: "abort", c: corr })).catch(() => {});
      });
      return "forwarded";
    }
    this.#outgoing.delete(corr);
    return receivers < 0 ? "unreachable" : "gone";
  }

  /** The directory entry, retried briefly on a miss (an initialize answered elsewhere a moment ago). */
  async #lookup(id: string) {
    let entry = await this.cluster.directory.get(id).catch(() => undefined);
    for (const wait of LOOKUP_RETRIES) {
      if (entry) break;
      await new Promise((r) => setTimeout(r, wait));
      entry = await this.cluster.directory.get(id).catch(() => undefined);
    }
    return entry;
  }

  /** Messages on this node's channel about forwarded requests. */
  onMessage(m: TunnelRequestMessage | TunnelResponseMessage | { t: "abort"; c: string }): void {
    if (m.t === "req") return this.#serve(m);
    if (m.t === "abort") {
      const res = this.#serving.get(m.c);
      this.#serving.delete(m.c);
      res?.destroy();
      return;
    }
    const out = this.#outgoing.get(m.c);
    if (!out) return;
    const res = out.res;
    if (m.s !== undefined && !res.headersSent) {
      res.writeHead(m.s, m.h as Record<string, string>);
      if (!m.e && m.d === undefined) res.flushHeaders();
    }
    if (m.d !== undefined) res.write(m.d);
    if (m.e) {
      this.#outgoing.delete(m.c);
      res.end();
      return;
    }
    // A client not reading a forwarded stream must not make this node buffer without bound: past
    // backpressure.max_buffered_bytes the stream is cut, and the client resumes from its last event id.
    if (res.writableLength > this.cluster.gateway.config.current.backpressure.max_buffered_bytes) {
      this.#outgoing.delete(m.c);
      res.destroy();
      void this.cluster.bus.publish(this.cluster.keys.nodeChannel(out.node), JSON.stringify({ t: "abort", c: m.c })).catch(() => {});
    }
  }

  /** Runs a request another node forwarded through this node's own listeners. */
  #serve(m: TunnelRequestMessage): void {
    const cluster = this.cluster;
    cluster.counters.served++;
    const channel = cluster.keys.nodeChannel(m.f);
    const res = new TunnelResponse(m.c, (msg) => {
      void cluster.bus.publish(channel, JSON.stringify(msg)).catch(() => res.destroy());
    });
    this.#serving.set(m.c, res);
    res.once("close", () => this.#serving.delete(m.c));
    const req = new TunnelRequest(m.m, m.u, m.h, m.b, m.r).asIncoming();
    const out = res.asServerResponse();
    const { handler, params } = cluster.gateway.router.match(m.m, pathOf(req));
    if (!handler) return sendError(out, new GatewayError("not_found", { path: pathOf(req) }));
    Promise.resolve()
      .then(() => handler(req, out, params))
      .catch((err) => {
        log("error", "MCP.Cluster", `forwarded request failed: ${(err as Error)?.stack ?? err}`);
        if (!res.headersSent) sendError(out, toGatewayError(err));
        else res.end();
      });
  }

  /**
   * Ends forwards whose owner died (its channel has no subscriber left): a
   * stream is cut so its client reconnects and resumes (here, by takeover);
   * a request not yet answered gets `cluster_node_lost` (retryable).
   */
  async checkOwners(): Promise<void> {
    if (this.#outgoing.size === 0) return;
    const nodes = new Set([...this.#outgoing.values()].map((o) => o.node));
    for (const node of nodes) {
      const n = await this.cluster.bus.receivers(this.cluster.keys.nodeChannel(node));
      if (n > 0) continue;
      for (const [corr, o] of this.#outgoing) if (o.node === node) this.#fail(corr, o);
    }
  }

  /** Ends every open forward (Redis lost: answers can no longer arrive). */
  failAll(): void {
    for (const [corr, o] of this.#outgoing) this.#fail(corr, o);
    for (const res of this.#serving.values()) res.destroy();
    this.#serving.clear();
  }

  #fail(corr: string, o: Outgoing): void {
    this.#outgoing.delete(corr);
    if (!o.res.headersSent) sendError(o.res, new GatewayError("cluster_node_lost", { node: o.node }), { "retry-after": "1" });
    else o.res.destroy();
  }

  /** Requests in flight through this node (stats). */
  get open(): { outgoing: number; serving: number } {
    return { outgoing: this.#outgoing.size, serving: this.#serving.size };
  }
}
