/**
 * Extracts the runnable commands of a Markdown guide (docs/TROUBLESHOOTING.md):
 * ```bash blocks (one command per line, `\` continues a line) and
 * ```js console blocks (one console expression per line). After a command,
 * `# expect: text` / `// expect: text` (substring, or /regex/flags) and
 * `# expect-exit: N` describe its output; `# doc-test: skip <why>` before a
 * command leaves it out. ```yaml gateway-config blocks are config snippets.
 */
export interface DocCommand {
  kind: "bash" | "console";
  command: string;
  line: number;
  section: string;
  expects: Array<string | RegExp>;
  exit: number;
  skip?: string;
}

export interface DocConfigBlock {
  line: number;
  yaml: string;
}

function expectation(text: string): string | RegExp {
  const m = /^\/(.*)\/([a-z]*)$/.exec(text);
  return m ? new RegExp(m[1]!, m[2]) : text;
}

/** Parses the guide into commands and config blocks, in document order. */
export function parseDoc(markdown: string): { commands: DocCommand[]; configs: DocConfigBlock[] } {
  const lines = markdown.split("\n");
  const commands: DocCommand[] = [];
  const configs: DocConfigBlock[] = [];
  let section = "";
  let fence: { kind: "bash" | "console" | "config" | "other"; start: number; body: string[] } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trim();
    if (!fence) {
      const h = /^#{1,4} (.*)/.exec(raw);
      if (h) section = h[1]!;
      const f = /^```(.*)$/.exec(line);
      if (f) {
        const info = f[1]!.trim();
        fence = { kind: info === "bash" ? "bash" : info === "js console" ? "console" : info === "yaml gateway-config" ? "config" : "other", start: i + 2, body: [] };
      }
      continue;
    }
    if (line === "```") {
      if (fence.kind === "config") configs.push({ line: fence.start, yaml: fence.body.join("\n") });
      fence = null;
      continue;
    }
    if (fence.kind === "config" || fence.kind === "other") {
      fence.body.push(raw.replace(/^ {3}/, ""));
      continue;
    }
    const comment = fence.kind === "bash" ? "#" : "//";
    let pendingSkip: string | undefined;
    if (line === "") continue;
    if (line.startsWith(comment)) {
      const text = line.slice(comment.length).trim();
      const last = commands[commands.length - 1];
      if (text.startsWith("expect-exit:") && last) last.exit = Number(text.slice(12).trim());
      else if (text.startsWith("expect:") && last) last.expects.push(expectation(text.slice(7).trim()));
      else if (text.startsWith("doc-test: skip")) (fence as { skip?: string }).skip = text.slice(14).trim() || "skipped";
      continue;
    }
    let command = line;
    const start = i + 1;
    while (fence.kind === "bash" && command.endsWith("\\") && i + 1 < lines.length) command = command.slice(0, -1).trimEnd() + " " + lines[++i]!.trim();
    pendingSkip = (fence as { skip?: string }).skip;
    (fence as { skip?: string }).skip = undefined;
    commands.push({ kind: fence.kind, command, line: start, section, expects: [], exit: 0, ...(pendingSkip ? { skip: pendingSkip } : {}) });
  }
  return { commands, configs };
}

/** Splits a simple shell command line into words (quotes and backslashes; no expansion). */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      cur += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        cur += text[i++];
      }
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
