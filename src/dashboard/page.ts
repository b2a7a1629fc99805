/** The dashboard page: static HTML + a few lines of script reading /dashboard/stream (SSE). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
h1{font-size:1.3rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:.8rem}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem}.card b{display:block;font-size:1.4rem}
table{border-collapse:collapse;margin-top:1rem;background:#fff}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.open{color:#b00}.half_open{color:#b70}.closed,.ok{color:#070}#state{color:#888}
</style></head><body>
<h1>MCP Gateway <span id="state">connecting…</span></h1>
<div class="grid" id="cards"></div>
<table><thead><tr><th>Breaker</th><th>Kind</th><th>State</th><th>Failures</th></tr></thead><tbody id="breakers"></tbody></table>
<table><thead><tr><th>Upstream</th><th>Status</th><th>Pool usage</th><th>Waiting</th></tr></thead><tbody id="upstreams"></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const es = new EventSource("/dashboard/stream");
es.onopen = () => { $("state").textContent = "live"; };
es.onerror = () => { $("state").textContent = "reconnecting…"; };
es.addEventListener("stats", (ev) => {
  const d = JSON.parse(ev.data), s = d.stats;
  const cards = [["Connections", s.total], ["WebSocket", s.by_transport.websocket], ["HTTP+SSE", s.by_transport.http_sse],
    ["Streamable HTTP", s.by_transport.streamable_http], ["Messages in", s.messages_in], ["Messages out", s.messages_out],
    ["Error rate (5 min)", (s.error_rate * 100).toFixed(1) + "%"], ["Pool usage", s.pool_usage == null ? "-" : (s.pool_usage * 100).toFixed(0) + "%"],
    ["Avg age (s)", s.avg_connection_age], ["Max lag (ms)", s.max_message_lag_ms], ["Heap (MB)", d.heap_mb]];
  if (d.integrity) cards.push(["Tools pinned (" + d.integrity.mode + ")", d.integrity.pinned + "/" + d.integrity.definitions], ["Tools withheld", d.integrity.withheld], ["Tool drift events", d.integrity.drift_events]);
  $("cards").innerHTML = cards.map(([k, v]) => '<div class="card">' + esc(k) + "<b>" + esc(v) + "</b></div>").join("");
  $("breakers").innerHTML = (d.breakers || []).map((b) => "<tr><td>" + esc(b.target) + "</td><td>" + esc(b.kind) + '</td><td class="' + esc(b.state) + '">' + esc(b.state) + "</td><td>" + esc(b.failures) + "</td></tr>").join("") || '<tr><td colspan="4">no breakers</td></tr>';
  $("upstreams").innerHTML = d.upstreams.map((u) => "<tr><td>" + esc(u.name) + '</td><td class="' + esc(u.status) + '">' + esc(u.status) + "</td><td>" + (u.usage == null ? "-" : (u.usage * 100).toFixed(0) + "%") + "</td><td>" + esc(u.waiting ?? "-") + "</td></tr>").join("");
});
</script></body></html>`;
