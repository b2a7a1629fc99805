/**
 * A TCP proxy on 127.0.0.1 in front of a gateway, for fault injection: it can
 * destroy every connection mid-stream (no close handshake, like a dropped
 * network), and refuse new connections for a while.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface FaultProxy {
  url: string;
  port: number;
  /** Connections currently open. */
  readonly open: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection (both sides); returns how many. */
  destroyAll(): number;
  /**
   * Black-holes every open connection: bytes are swallowed both ways and the
   * sockets stay open (a dead peer behind a NAT or proxy). New connections work.
   */
  stallAll(): number;
  /** While true, new connections are destroyed at once. */
  refusing: boolean;
  /** Points the proxy at another target port (a restarted gateway). */
  retarget(port: number): void;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort`. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket; stalled: boolean }>();
  let target = targetPort;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (proxy.refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target, "127.0.0.1");
    const pair = { a: client, b: upstream, stalled: false };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("data", (d: Buffer) => {
      if (!pair.stalled) upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      if (!pair.stalled) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    get open() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    refusing: false,
    destroyAll() {
      const n = pairs.size;
      for (const p of [...pairs]) {
        p.a.destroy();
        p.b.destroy();
      }
      pairs.clear();
      return n;
    },
    stallAll() {
      for (const p of pairs) p.stalled = true;
      return pairs.size;
    },
    retarget(p: number) {
      target = p;
    },
    close() {
      proxy.destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
