// Closures of a V8 heap snapshot grouped by where their function is defined (script:line:column), most first,
// and the retainers of objects of one constructor (RET=IncomingMessage):
//   node bench/heap-closures.mjs after.heapsnapshot [min count]
import { readFileSync } from 'node:fs';
const s = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const min = Number(process.argv[3] ?? 500);
const m = s.snapshot.meta;
const nf = m.node_fields.length, ef = m.edge_fields.length;
const types = m.node_types[0], etypes = m.edge_types[0];
const iT = m.node_fields.indexOf('type'), iN = m.node_fields.indexOf('name'), iE = m.node_fields.indexOf('edge_count'), iId = m.node_fields.indexOf('id');
const eT = m.edge_fields.indexOf('type'), eN = m.edge_fields.indexOf('name_or_index'), eTo = m.edge_fields.indexOf('to_node');
const N = s.nodes.length / nf;
const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) { firstEdge[i] = e; e += s.nodes[i * nf + iE] * ef; firstEdge[i + 1] = e; }
const edgeName = (e) => { const t = etypes[s.edges[e + eT]]; return t === 'element' || t === 'hidden' ? `[${s.edges[e + eN]}]` : s.strings[s.edges[e + eN]]; };
const child = (node, name) => { for (let e = firstEdge[node]; e < firstEdge[node + 1]; e += ef) if (edgeName(e) === name) return s.edges[e + eTo] / nf; return -1; };
const nameOf = (n) => s.strings[s.nodes[n * nf + iN]];
if (process.env.RET) {
  // Retainers of every node named RET: (retainer name, edge) counts.
  const want = process.env.RET;
  const agg = new Map();
  for (let i = 0; i < N; i++) for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
    const to = s.edges[e + eTo] / nf;
    if (nameOf(to) !== want || etypes[s.edges[e + eT]] === 'weak') continue;
    const k = `${types[s.nodes[i * nf + iT]]} ${nameOf(i).slice(0, 50)} --${edgeName(e)}-->`;
    agg.set(k, (agg.get(k) ?? 0) + 1);
  }
  for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(String(v).padStart(7), k);
  process.exit(0);
}
const loc = new Map();
const L = s.locations, lf = m.location_fields.length;
for (let i = 0; i < L.length; i += lf) loc.set(L[i] / nf, `${L[i + 2] + 1}:${L[i + 3] + 1}`);
const agg = new Map();
for (let i = 0; i < N; i++) {
  if (types[s.nodes[i * nf + iT]] !== 'closure') continue;
  const sfi = child(i, 'shared');
  let script = '?';
  if (sfi >= 0) { const sc = child(sfi, 'script') >= 0 ? child(sfi, 'script') : child(sfi, 'script_or_debug_info'); if (sc >= 0) { const nm = child(sc, 'name'); if (nm >= 0) script = nameOf(nm).replace(/.*\/(node_modules|dist|src)\//, '$1/'); } }
  const k = `${nameOf(i) || '(anon)'} ${script}:${loc.get(i) ?? '?'}`;
  agg.set(k, (agg.get(k) ?? 0) + 1);
}
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1])) if (v >= min) console.log(String(v).padStart(7), k);
