/**
 * Colour for human output: on when stdout is a terminal, off when piped,
 * with `NO_COLOR` set (https://no-color.org), or `TERM=dumb`. `--json` never
 * goes through here.
 */

/** The few styles the CLI uses. Each returns its input unchanged when colour is off. */
export interface Palette {
  readonly enabled: boolean;
  ok(text: string): string;
  warn(text: string): string;
  fail(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

/** True when colour applies to a stream that `isTTY` describes, under `env`. */
export function colourEnabled(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return isTTY === true;
}

/** The palette for one output stream. */
export function palette(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): Palette {
  const on = colourEnabled(isTTY, env);
  return {
    enabled: on,
    ok: on ? sgr(32, 39) : plain,
    warn: on ? sgr(33, 39) : plain,
    fail: on ? sgr(31, 39) : plain,
    dim: on ? sgr(2, 22) : plain,
    bold: on ? sgr(1, 22) : plain,
  };
}
