/** What the handshakes need of a connection: a request and a notification (kept narrow so tests can fake it). */
export interface HandshakeChannel {
  request(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
  notify(message: { jsonrpc: "2.0"; method: string; params?: Record<string, unknown> }): void;
}

/** A handshake request that got no answer in time. */
export class HandshakeTimeout extends Error {
  override name = "HandshakeTimeout";
}

/**
 * A gateway-issued request bounded by its own timer: the manager's sweep only
 * looks at ready connections, so during a handshake nothing else would ever
 * time the request out. A late answer is dropped by the settled promise.
 */
export function requestWithin(channel: HandshakeChannel, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new HandshakeTimeout(`${method} got no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    channel.request(method, params, timeoutMs).then(
      (result) => {
        clearTimeout(timer);
        resolve(result);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
