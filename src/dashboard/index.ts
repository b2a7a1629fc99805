import type { IncomingMessage, ServerResponse } from "node:http";
import type { Gateway } from "../gateway.js";
import type { Operations } from "../admin/operations.js";
import type { TelemetryHub } from "../telemetry/hub.js";
import { DASHBOARD_HTML } from "./page.js";
import { checkOpsToken } from "../admin/admin-auth.js";
import { sendError } from "../listeners/http-util.js";
import { serveAsset } from "./assets.js";
import { ConsoleService } from "./console-service.js";

export { dashboardSnapshot } from "./snapshot.js";
export { ConsoleService } from "./console-service.js";

/** Outside dev the console needs the admin or ops token (ADR 0160); true when the request was refused. */
function refused(gateway: Gateway, req: IncomingMessage, res: ServerResponse): boolean {
  const denied = checkOpsToken(req, gateway.config.current);
  if (denied) sendError(res, denied, { "www-authenticate": 'Bearer realm="mcp-gateway-ops"' });
  return denied !== null;
}

/**
 * The live console (the guide's Observer, ADR 0180): `GET /dashboard` serves
 * the page, `/dashboard/assets/*` its bundle, `GET /dashboard/stream` one SSE
 * stream per open console (history, then a tick, stats and state every
 * second, log lines, catalogue changes). Actions go to the admin API with
 * the admin token; this layer adds no action of its own.
 */
export function registerDashboard(gateway: Gateway, ops: Operations, hub: TelemetryHub): ConsoleService {
  const console = new ConsoleService(gateway, ops, hub);
  // The page and its bundle are the same bytes for everyone and carry no data: public in every profile,
  // so a browser can load the console and ask for the token itself. What they show comes from the stream
  // (ops or admin token outside dev) and actions from the admin API (admin token), ADR 0180.
  gateway.router.on("GET", "/dashboard", (_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(DASHBOARD_HTML), "cache-control": "no-store" });
    res.end(DASHBOARD_HTML);
  });
  gateway.router.on("GET", "/dashboard/assets/:file", (req, res, p) => {
    serveAsset(req, res, p.file!);
  });
  gateway.server.once("close", () => console.closeAll());
  gateway.router.on("GET", "/dashboard/stream", (req, res) => {
    if (refused(gateway, req, res)) return;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    res.write("retry: 2000\n\n");
    const close = console.open(res);
    req.once("close", close);
    res.once("close", close);
  });
  return console;
}
