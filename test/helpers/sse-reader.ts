import { request, type IncomingMessage } from "node:http";

/** An open SSE stream read event by event. */
export interface SseReader {
  res: IncomingMessage;
  /** The data of the next event of `type` (events of other types before it are dropped). */
  next(type: string): Promise<string>;
  /** Every event of `type` received so far and not yet taken. */
  take(type: string): string[];
  /** Resolves when the stream ends. */
  ended: Promise<void>;
  close(): void;
}

/** A raw SSE reader over node:http: events as they come, and the end of the stream. */
export /** A raw SSE reader over node:http (through nginx): events as they come, and the end of the stream. */
function openSse(url: string): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: "text/event-stream" } }, (res) => {
      const queue: Array<{ type: string; data: string }> = [];
      const waiters: Array<() => void> = [];
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join("\n");
          if (data || /^event:/m.test(block)) queue.push({ type, data });
        }
        for (const w of waiters.splice(0)) w();
      });
      const ended = new Promise<void>((r) => {
        res.once("end", r);
        res.once("close", r);
      });
      const next = async (type: string): Promise<string> => {
        for (;;) {
          const idx = queue.findIndex((e) => e.type === type);
          if (idx >= 0) return queue.splice(0, idx + 1).pop()!.data;
          if (res.readableEnded || res.destroyed) throw new Error(`stream ended before a ${type} event`);
          await Promise.race([new Promise<void>((r) => waiters.push(r)), ended]);
        }
      };
      const take = (type: string) => {
        const out = queue.filter((e) => e.type === type).map((e) => e.data);
        for (let k = queue.length - 1; k >= 0; k--) if (queue[k]!.type === type) queue.splice(k, 1);
        return out;
      };
      resolve({ res, next, take, ended, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

