#!/usr/bin/env node
// Builds the live console's browser bundle (src/dashboard/ui/) into dist/dashboard/:
// console.js (our code + uPlot, one IIFE, minified) and console.css (uPlot's + ours).
// Run by `npm run build` (so by `prepare` and `prestart`); tests call buildConsole().
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Builds both files; returns their sizes (raw and gzip, bytes). */
export async function buildConsole({ outdir = join(ROOT, "dist/dashboard"), minify = true } = {}) {
  const common = { bundle: true, minify, logLevel: "warning", legalComments: "none", absWorkingDir: ROOT };
  await build({ ...common, entryPoints: [join(ROOT, "src/dashboard/ui/main.ts")], format: "iife", platform: "browser", target: "es2022", outfile: join(outdir, "console.js") });
  await build({ ...common, entryPoints: [join(ROOT, "src/dashboard/ui/console.css")], outfile: join(outdir, "console.css") });
  const sizes = {};
  for (const f of ["console.js", "console.css"]) {
    const raw = readFileSync(join(outdir, f));
    sizes[f] = { raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
  }
  return sizes;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const sizes = await buildConsole();
  console.log(`console bundle: ${Object.entries(sizes).map(([f, s]) => `${f} ${(s.raw / 1024).toFixed(1)} KB (gzip ${(s.gzip / 1024).toFixed(1)} KB)`).join(", ")}`);
}
