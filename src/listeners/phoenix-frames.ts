/**
 * The Phoenix channel wire protocol, JSON serializer vsn 2.0.0: every frame
 * is an array `[join_ref, ref, topic, event, payload]` (what the `phoenix`
 * npm package's Serializer encodes and decodes). Gateway messages are built
 * by string concatenation around the serialized JSON-RPC text.
 */

/** The one channel topic the gateway serves. */
export const PHOENIX_TOPIC = "mcp:gateway";
/** The only serializer version spoken. */
export const PHOENIX_VSN = "2.0.0";

/** One decoded client frame. */
export interface PhoenixFrame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** Decodes a text frame; undefined when it is not a vsn 2.0.0 array frame. */
export function decodeFrame(text: string): PhoenixFrame | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(raw) || raw.length !== 5) return undefined;
  const [joinRef, ref, topic, event, payload] = raw as unknown[];
  if (typeof topic !== "string" || typeof event !== "string") return undefined;
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return { joinRef: str(joinRef), ref: str(ref), topic, event, payload };
}

/** Encodes a frame with a JSON payload. */
export function encodeFrame(joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown): string {
  return JSON.stringify([joinRef, ref, topic, event, payload]);
}

/** A `phx_reply` to a push: `{status, response}`. */
export function replyFrame(joinRef: string | null, ref: string | null, topic: string, status: "ok" | "error", response: unknown): string {
  return encodeFrame(joinRef, ref, topic, "phx_reply", { status, response });
}

/**
 * The frame prefix of gateway messages on one join (everything before the
 * payload), computed once per join.
 */
export function messagePrefix(joinRef: string): string {
  return `[${JSON.stringify(joinRef)},null,${JSON.stringify(PHOENIX_TOPIC)},"message",`;
}

/**
 * A gateway->client `message` event: payload `{"id":seq,"seq":seq,"message":<json-rpc>}`.
 * `id` repeats `seq` so the guide's `channel.push("ack", {msg_id: msg.id})` acknowledges it.
 */
export function messageFrame(prefix: string, seq: number, json: string): string {
  return `${prefix}{"id":${seq},"seq":${seq},"message":${json}}]`;
}
