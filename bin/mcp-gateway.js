#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` / `npm start`).
import("../dist/cli/main.js").catch((err) => {
  console.error(err && err.code === "ERR_MODULE_NOT_FOUND"
    ? "mcp-gateway: dist/ is missing; run `npm run build` first"
    : err);
  process.exit(1);
});
