/**
 * The console's HTML shell: the bundle (src/dashboard/ui/, built to
 * dist/dashboard/) draws everything from `/dashboard/stream` and the admin
 * API. No inline script, no CDN.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard/assets/console.css">
</head><body data-stream="/dashboard/stream">
<div id="app"><p class="boot">MCP Gateway console: loading… (the page needs JavaScript; the raw figures are at <a href="/mcp/stats">/mcp/stats</a>)</p></div>
<script src="/dashboard/assets/console.js" defer></script>
</body></html>`;
