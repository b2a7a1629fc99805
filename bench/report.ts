// Output of bench/run.ts: text tables for the console, Markdown tables and SVG line charts for
// docs/benchmarks.md. No dependencies: the charts are hand-written SVG (polylines on a grid).

/** A number with `d` decimals, or '-' when absent. */
export const fmt = (v: number | undefined, d: number): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** Fixed-width text table (first two columns left-aligned). */
export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** GitHub-flavoured Markdown table (numeric-looking columns right-aligned). */
export function mdTable(head: string[], rows: string[][]): string {
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]+x?$|^-$/.test(r[i]!)));
  const sep = numeric.map((n) => (n ? '---:' : '---'));
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${sep.join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** One line of a chart: a label and its y value at each x (undefined = no point). */
export interface Series {
  label: string;
  values: Array<number | undefined>;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#000000'];

/**
 * A line chart as a standalone SVG document: categorical x (e.g. concurrency 1, 10, 50, evenly
 * spaced), linear or log10 y, one polyline with dots per series, legend on the right.
 */
export function svgLineChart(o: { title: string; xLabel: string; yLabel: string; xs: string[]; series: Series[]; logY?: boolean }): string {
  const W = 760, H = 380, L = 70, R = 230, T = 40, B = 50;
  const pw = W - L - R, ph = H - T - B;
  const all = o.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && Number.isFinite(v) && (!o.logY || v > 0));
  let lo = o.logY ? Math.min(...all) : 0;
  let hi = Math.max(...all, o.logY ? 1 : 1e-9);
  if (all.length === 0) (lo = o.logY ? 1 : 0), (hi = 1);
  const ticks: number[] = [];
  if (o.logY) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (hi <= lo) hi = lo * 10;
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const step = niceStep(hi / 5);
    hi = Math.ceil(hi / step) * step;
    for (let t = 0; t <= hi + step / 2; t += step) ticks.push(t);
  }
  const y = (v: number) => T + ph - (o.logY ? (Math.log10(v / lo) / Math.log10(hi / lo)) * ph : (v / hi) * ph);
  const x = (i: number) => L + (o.xs.length === 1 ? pw / 2 : (i / (o.xs.length - 1)) * pw);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xml(o.title)}</text>`,
  ];
  for (const t of ticks) {
    out.push(`<line x1="${L}" x2="${L + pw}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  o.xs.forEach((lab, i) => {
    out.push(`<line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${T}" y2="${T + ph}" stroke="#eee"/>`);
    out.push(`<text x="${x(i).toFixed(1)}" y="${T + ph + 18}" text-anchor="middle">${xml(lab)}</text>`);
  });
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${L + pw / 2}" y="${H - 10}" text-anchor="middle">${xml(o.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${T + ph / 2}) rotate(-90)" text-anchor="middle">${xml(o.yLabel)}</text>`);
  o.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    const pts = s.values
      .map((v, i) => (v === undefined || !Number.isFinite(v) || (o.logY && v <= 0) ? undefined : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter((p): p is string => p !== undefined);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [px, py] = p.split(',');
      out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    }
    const ly = T + 8 + k * 18;
    out.push(`<line x1="${L + pw + 14}" x2="${L + pw + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${L + pw + 40}" y="${ly + 4}">${xml(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function tickLabel(t: number): string {
  if (t >= 1000) return `${+(t / 1000).toFixed(1)}k`;
  if (t >= 1) return String(+t.toFixed(1));
  return String(+t.toPrecision(2));
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
