import WebSocket from "ws";

/** A bare MCP-over-WebSocket test client (subprotocol `mcp`, one JSON-RPC message per frame). */
export class WsClient {
  #next = 1;
  #waiting = new Map<number, (m: any) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      const done = m.id !== undefined ? this.#waiting.get(m.id) : undefined;
      if (done) {
        this.#waiting.delete(m.id);
        done(m);
      }
    });
  }

  /** Opens `/mcp/ws?client_id=<id>` on the gateway at `url` (http://...). */
  static async open(url: string, clientId: string): Promise<WsClient> {
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/mcp/ws?client_id=${encodeURIComponent(clientId)}`, "mcp");
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new WsClient(ws);
  }

  /** Sends a request and resolves with its response (result or error). */
  request(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", method, params }));
  }

  /** initialize + notifications/initialized. */
  async initialize(): Promise<any> {
    const r = await this.request("initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } });
    this.notify("notifications/initialized");
    return r;
  }

  /** Closes politely and waits for the close. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }
}
