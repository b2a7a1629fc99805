// Diff of two V8 heap snapshots by (type, constructor/name): count and self bytes, biggest growth first.
//   node bench/heap-diff.mjs before.heapsnapshot after.heapsnapshot [sessions]
import { readFileSync } from 'node:fs';
function load(path) {
  const s = JSON.parse(readFileSync(path, 'utf8'));
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const n = f.length, iT = f.indexOf('type'), iN = f.indexOf('name'), iS = f.indexOf('self_size');
  const agg = new Map();
  for (let i = 0; i < s.nodes.length; i += n) {
    const type = types[s.nodes[i + iT]];
    let name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(string)' : s.strings[s.nodes[i + iN]];
    if (type === 'code') name = '(code)';
    if (type === 'array') name = `(array) ${name}`;
    if (type === 'hidden') name = `(hidden) ${name}`.slice(0, 60);
    if (type === 'closure') name = `(closure) ${name}`;
    const key = `${type}|${name}`.slice(0, 90);
    const a = agg.get(key) ?? { c: 0, b: 0 };
    a.c++; a.b += s.nodes[i + iS];
    agg.set(key, a);
  }
  return agg;
}
const [a, b] = [load(process.argv[2]), load(process.argv[3])];
const per = Number(process.argv[4] ?? 1);
const rows = [];
let total = 0;
for (const [k, v] of b) {
  const o = a.get(k) ?? { c: 0, b: 0 };
  const db = v.b - o.b;
  total += db;
  rows.push([k, v.c - o.c, db]);
}
rows.sort((x, y) => y[2] - x[2]);
console.log(`total growth ${total} B, ${(total / per).toFixed(0)} B/session`);
for (const r of rows.slice(0, Number(process.env.TOP ?? 40))) console.log(String((r[2] / per).toFixed(0)).padStart(7), 'B/s', String((r[1] / per).toFixed(2)).padStart(6), 'objs/s', r[0]);
