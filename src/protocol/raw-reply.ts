import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from "./jsonrpc.js";

/**
 * Large replies relayed as text (ADR 0211). A multi-MB `tools/call` result
 * used to be parsed (a copy), its id rewritten, stringified (a copy) and
 * encoded for the socket (a copy): over five times the payload in RSS, and
 * tens of ms of blocked event loop. A reply line at least RAW_MIN_CHARS long
 * whose envelope has one of the two shapes SDKs write is kept as its text
 * instead: the id's place in it is found textually, the relay swaps the id
 * as on any message (`reply.id = ...`), and the client listeners write the
 * text around the new id in pieces (`rawParts`), never building a second
 * copy of the body. `result` parses the text on first access, so any code
 * that does look inside still sees the object (and from then on the message
 * is an ordinary one).
 */

/** Lines shorter than this are parsed as usual: the text path only pays off for large bodies. */
export const RAW_MIN_CHARS = 256 * 1024;

const RAW = Symbol("raw reply text");

interface RawText {
  /** The line as it arrived, in pieces (never joined on this path). */
  parts: string[];
  /** The upstream's id occupies parts[idPart][idStart, idEnd). */
  idPart: number;
  idStart: number;
  idEnd: number;
}

type RawCarrier = JsonRpcResponse & { [RAW]?: RawText };

// `{"result":...,"jsonrpc":"2.0","id":7}` (the TypeScript SDK's order) and `{"jsonrpc":"2.0","id":7,"result":...}`.
const HEAD_RESULT = '{"result":';
const HEAD_ID_PREFIX = '{"jsonrpc":"2.0","id":';
const TAIL = /,"jsonrpc":"2\.0","id":(-?\d{1,15}|"[^"\\]{0,200}")\}$/;
const HEAD_ID = /^\{"jsonrpc":"2\.0","id":(-?\d{1,15}|"[^"\\]{0,200}"),"result":/;
/** The envelope patterns look at most this far from either end. */
const EDGE = 260;

/**
 * The reply held as text, or undefined when the line (given as the pieces
 * it arrived in) is short or not in a shape whose id is known to be at the
 * top level (then the caller joins and parses it). A bare CR anywhere (legal
 * JSON whitespace, but an SSE line break) also sends it down the parsing path.
 * May merge the first two or last two pieces (short ones) in place.
 */
export function rawReply(parts: string[]): JsonRpcResponse | undefined {
  let length = 0;
  for (const p of parts) length += p.length;
  if (length < RAW_MIN_CHARS) return undefined;
  for (const p of parts) if (p.indexOf("\r") !== -1) return undefined;
  // The envelope must lie within one piece: merge a short edge piece into its neighbour.
  while (parts.length > 1 && parts[parts.length - 1]!.length < EDGE) parts.splice(-2, 2, parts[parts.length - 2]! + parts[parts.length - 1]!);
  while (parts.length > 1 && parts[0]!.length < EDGE) parts.splice(0, 2, parts[0]! + parts[1]!);
  const first = parts[0]!;
  let idPart: number;
  let idStart: number;
  let idText: string;
  if (first.startsWith(HEAD_RESULT)) {
    idPart = parts.length - 1;
    const last = parts[idPart]!;
    const m = TAIL.exec(last.slice(-EDGE));
    if (!m) return undefined;
    idText = m[1]!;
    idStart = last.length - 1 - idText.length;
  } else {
    const m = HEAD_ID.exec(first.slice(0, EDGE));
    if (!m) return undefined;
    idPart = 0;
    idText = m[1]!;
    idStart = HEAD_ID_PREFIX.length;
  }
  const id = JSON.parse(idText) as JsonRpcId;
  const reply = { jsonrpc: "2.0", id } as RawCarrier;
  Object.defineProperty(reply, RAW, { value: { parts, idPart, idStart, idEnd: idStart + idText.length }, writable: true, enumerable: false });
  Object.defineProperty(reply, "result", {
    enumerable: true,
    configurable: true,
    get(this: RawCarrier) {
      const raw = this[RAW]!;
      const result = (JSON.parse(raw.parts.join("")) as { result: Record<string, unknown> }).result;
      // From now on an ordinary message: the object is the truth, the text is dropped.
      this[RAW] = undefined;
      Object.defineProperty(this, "result", { value: result, enumerable: true, writable: true, configurable: true });
      return result;
    },
    set(this: RawCarrier, value: Record<string, unknown>) {
      this[RAW] = undefined;
      Object.defineProperty(this, "result", { value, enumerable: true, writable: true, configurable: true });
    },
  });
  return reply;
}

/**
 * A raw reply's JSON text in pieces whose concatenation is the message: the
 * pieces it arrived in, with the one holding the id cut around the current
 * id; undefined for an ordinary message (serialize it with JSON.stringify,
 * as always: on the common path this costs one missed property lookup).
 * Writing the pieces one by one copies nothing twice.
 */
export function rawParts(message: JsonRpcMessage): string[] | undefined {
  const raw = (message as RawCarrier)[RAW];
  if (raw === undefined) return undefined;
  const holder = raw.parts[raw.idPart]!;
  const cut = [holder.slice(0, raw.idStart), JSON.stringify((message as JsonRpcResponse).id), holder.slice(raw.idEnd)];
  return [...raw.parts.slice(0, raw.idPart), ...cut, ...raw.parts.slice(raw.idPart + 1)];
}

/** Characters of the JSON text (what the message channels report as `size`). */
export function partsLength(parts: readonly string[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** UTF-8 bytes of the JSON text (Content-Length). */
export function partsByteLength(parts: readonly string[]): number {
  let n = 0;
  for (const p of parts) n += Buffer.byteLength(p);
  return n;
}

/**
 * The text as one string for the replay buffer: concatenation makes a rope
 * that points at the pieces (no copy); it is only flattened if it is replayed.
 */
export function partsText(parts: readonly string[]): string {
  let text = "";
  for (const p of parts) text += p;
  return text;
}

/**
 * Calls `write` with consecutive slices of `text` of at most `max` UTF-16
 * units, never splitting a surrogate pair (each slice is encoded on its own).
 * Slices of a flat string share its storage: nothing is copied here.
 */
export function forEachSlice(text: string, max: number, write: (slice: string) => void): void {
  if (text.length <= max) return write(text);
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + max);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    write(text.slice(at, end));
    at = end;
  }
}

/** One Buffer holding `before`, the pieces and `after` (a WebSocket frame's payload), written in place. */
export function partsBuffer(parts: readonly string[], before = "", after = ""): Buffer {
  const buf = Buffer.allocUnsafe(Buffer.byteLength(before) + partsByteLength(parts) + Buffer.byteLength(after));
  let at = buf.write(before, 0);
  for (const p of parts) at += buf.write(p, at);
  buf.write(after, at);
  return buf;
}
