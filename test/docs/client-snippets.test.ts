// The guide's client patterns (```ts blocks of docs/TROUBLESHOOTING.md) use
// the real client SDK: each block typechecks against src/client, so an
// option or event renamed in the SDK breaks this test until the guide follows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "docs/TROUBLESHOOTING.md"), "utf8");
/** Every ```ts block of docs/client.md too: the SDK's own page must compile as written. */
const clientDoc = readFileSync(join(root, "docs/client.md"), "utf8");
const fence = /^```ts\n([\s\S]*?)^```/gm;
const guideBlocks = [...doc.matchAll(fence)].map((m) => m[1]!);
const clientBlocks = [...clientDoc.matchAll(fence)].map((m) => m[1]!);
const blocks = [...guideBlocks, ...clientBlocks];

test("the guide's TypeScript client snippets typecheck against the SDK", () => {
  assert.ok(guideBlocks.length >= 4, `${guideBlocks.length} ts blocks in the guide`);
  assert.ok(clientBlocks.length >= 1, "docs/client.md has ts blocks");
  assert.ok(blocks.every((b) => b.includes('from "mcp-gateway/client"')), "every snippet uses the SDK");
  // Inside the repository, so the snippets resolve node_modules like application code would.
  const dir = mkdtempSync(join(root, "test/docs/.snippets-"));
  try {
    const files = blocks.map((b, i) => {
      const f = join(dir, `snippet-${i}.ts`);
      writeFileSync(f, `${b}\nexport {};\n`);
      return f;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      types: ["node"],
      typeRoots: [join(root, "node_modules/@types")],
      lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
      baseUrl: root,
      paths: { "mcp-gateway/client": ["src/client/index.ts"] },
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.includes(d.file.fileName));
    const text = diagnostics.map((d) => `${d.file!.fileName.replace(dir, "")}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}\n${blocks[Number(/snippet-(\d+)/.exec(d.file!.fileName)![1])]!.split("\n").slice(0, 3).join("\n")}`);
    assert.deepEqual(text, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
