import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type * as Yaml from "yaml";
import { requireForgettable } from "../lazy-packages.js";
import { pinKey, type Pin, type PinStore } from "./pin-store.js";
import { PIN_KINDS, type PinKind } from "./fingerprint.js";

/** The file layout: `pins.<upstream>.<kind>.<name>`, keys sorted so diffs in git stay small. */
interface PinFile {
  version: 1;
  pins: Record<string, Partial<Record<PinKind, Record<string, Omit<Pin, "upstream" | "kind" | "name">>>>>;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  return value;
}

/**
 * Pins in one JSON (or YAML, by extension) file, meant to be committed and
 * reviewed. Read once at start; every change rewrites the file atomically
 * (temporary file + rename), writes queued one after another.
 */
export class FilePinStore implements PinStore {
  readonly kind = "file";
  readonly #pins = new Map<string, Pin>();
  readonly #yaml: boolean;
  #writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {
    this.#yaml = /\.ya?ml$/i.test(path);
    if (existsSync(path)) this.#read();
  }

  #read(): void {
    const text = readFileSync(this.path, "utf8");
    let doc: PinFile;
    try {
      doc = (this.#yaml ? yaml().parse(text) : JSON.parse(text)) as PinFile;
    } catch (err) {
      throw new Error(`integrity.pin_file ${this.path}: not valid ${this.#yaml ? "YAML" : "JSON"}: ${(err as Error).message}`);
    }
    for (const [upstream, kinds] of Object.entries(doc?.pins ?? {})) {
      for (const kind of PIN_KINDS) {
        for (const [name, pin] of Object.entries(kinds?.[kind] ?? {})) this.#pins.set(pinKey(upstream, kind, name), { ...pin, upstream, kind, name });
      }
    }
  }

  async load(): Promise<Pin[]> {
    return [...this.#pins.values()];
  }

  async put(pin: Pin): Promise<void> {
    this.#pins.set(pinKey(pin.upstream, pin.kind, pin.name), pin);
    await this.#flush();
  }

  async delete(upstream: string, kind: PinKind, name: string): Promise<void> {
    if (this.#pins.delete(pinKey(upstream, kind, name))) await this.#flush();
  }

  onChange(): void {
    // One process owns the file: nobody else changes it while we run.
  }

  #flush(): Promise<void> {
    const write = async () => {
      const doc: PinFile = { version: 1, pins: {} };
      for (const { upstream, kind, name, ...rest } of this.#pins.values()) ((doc.pins[upstream] ??= {})[kind] ??= {})[name] = rest;
      const sorted = sortKeys(doc);
      const text = this.#yaml ? yaml().stringify(sorted) : `${JSON.stringify(sorted, null, 2)}\n`;
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, this.path);
    };
    this.#writing = this.#writing.then(write, write);
    return this.#writing;
  }

  async close(): Promise<void> {
    await this.#writing.catch(() => {});
  }
}

/** yaml, required when a YAML pin file is read or written (a running gateway forgets it after start-up; this loads it again). */
function yaml(): typeof Yaml {
  return requireForgettable<typeof Yaml>("yaml");
}
