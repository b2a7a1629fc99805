// Preloaded into every measured process (gateway, mcp-proxy, direct) by the bench, the same for
// all, so idle-session memory can be compared after a full GC: on SIGUSR2 the process collects
// garbage twice and writes its process.memoryUsage() to $BENCH_GC_DIR/<pid>.json.
'use strict';
const fs = require('fs');
const path = require('path');
const dir = process.env.BENCH_GC_DIR;
if (dir && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    const file = path.join(dir, `${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ ...process.memoryUsage(), t: Date.now() }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
