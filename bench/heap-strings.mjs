// Strings of a V8 heap snapshot grouped by their first 60 characters: count and bytes, most bytes first.
//   node bench/heap-strings.mjs after.heapsnapshot [top]   (also: TYPE=closure to group closures by name)
import { readFileSync } from 'node:fs';
const s = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const f = s.snapshot.meta.node_fields;
const types = s.snapshot.meta.node_types[0];
const n = f.length, iT = f.indexOf('type'), iN = f.indexOf('name'), iS = f.indexOf('self_size');
const want = (process.env.TYPE ?? 'string').split(',');
const agg = new Map();
for (let i = 0; i < s.nodes.length; i += n) {
  const type = types[s.nodes[i + iT]];
  if (!want.includes(type)) continue;
  const key = `${type}: ${JSON.stringify(s.strings[s.nodes[i + iN]].slice(0, 60))}`;
  const a = agg.get(key) ?? { c: 0, b: 0 };
  a.c++; a.b += s.nodes[i + iS];
  agg.set(key, a);
}
const rows = [...agg].sort((x, y) => y[1].b - x[1].b).slice(0, Number(process.argv[3] ?? 30));
for (const [k, v] of rows) console.log(String(v.b).padStart(9), String(v.c).padStart(6), k);
