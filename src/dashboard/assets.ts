import { readFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../errors/index.js";
import { sendError } from "../listeners/http-util.js";

/**
 * Where `npm run build` puts the console bundle (scripts/build-console.mjs):
 * `dist/dashboard/` of the package, reached the same way from `src/dashboard/`
 * (tsx, tests) and from `dist/dashboard/` (the built server). The server only
 * reads these files; it never imports the browser code.
 */
export const ASSET_DIR = fileURLToPath(new URL("../../dist/dashboard/", import.meta.url));

/** The files the page loads. */
export const ASSET_FILES = { "console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8" } as const;
export type AssetName = keyof typeof ASSET_FILES;

interface Asset {
  raw: Buffer;
  gzip: Buffer;
  etag: string;
  type: string;
}

/** Read once, gzipped once: the bundle changes only with a rebuild and a restart. */
const cache = new Map<string, Asset>();

function load(dir: string, name: AssetName): Asset | undefined {
  const key = dir + name;
  const hit = cache.get(key);
  if (hit) return hit;
  const path = dir + name;
  if (!existsSync(path)) return undefined;
  const raw = readFileSync(path);
  const asset = { raw, gzip: gzipSync(raw, { level: 9 }), etag: `"${createHash("sha256").update(raw).digest("base64url").slice(0, 22)}"`, type: ASSET_FILES[name] };
  cache.set(key, asset);
  return asset;
}

/** Serves one console asset (gzip when the browser takes it, 304 on a matching ETag); 501 naming the build step when it was not built. */
export function serveAsset(req: IncomingMessage, res: ServerResponse, name: string, dir = ASSET_DIR): void {
  if (!Object.hasOwn(ASSET_FILES, name)) return sendError(res, new GatewayError("not_found", { path: `/dashboard/assets/${name}` }));
  const asset = load(dir, name as AssetName);
  if (!asset) return sendError(res, new GatewayError("not_implemented", { service: "the console bundle (dist/dashboard/ is missing: run npm run build)" }));
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, { etag: asset.etag });
    return void res.end();
  }
  const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? asset.gzip : asset.raw;
  res.writeHead(200, { "content-type": asset.type, "content-length": body.length, etag: asset.etag, "cache-control": "no-cache", vary: "accept-encoding", ...(gzip ? { "content-encoding": "gzip" } : {}) });
  res.end(body);
}
