// Preloaded into every measured process (gateway, mcp-proxy, direct) by the bench, the same for
// all, so idle-session memory can be compared after a full GC: on SIGUSR2 the process collects
// garbage twice and writes its process.memoryUsage() (and the npm packages it has loaded) to $BENCH_GC_DIR/<pid>.json.
'use strict';
const fs = require('fs');
const path = require('path');
const dir = process.env.BENCH_GC_DIR;
if (dir && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    // New space as the process left it (before the GCs below empty it): what a burst of sessions grew it to.
    const newSpace = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const newSpaceBytes = newSpace ? newSpace.physical_space_size : 0;
    globalThis.gc();
    globalThis.gc();
    const file = path.join(dir, `${process.pid}.json`);
    // The npm packages loaded so far (CommonJS ones, and ESM-imported CommonJS), for the start-up module set.
    const packages = [...new Set(Object.keys(require.cache).map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean))].sort();
    // Heap without code space: V8 compiling hot functions mid-measurement is not a per-session cost.
    let dataHeapUsed = 0;
    for (const s of require('v8').getHeapSpaceStatistics()) if (!s.space_name.startsWith('code')) dataHeapUsed += s.space_used_size;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ ...process.memoryUsage(), dataHeapUsed, newSpaceBytes, packages, t: Date.now() }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
