import uPlot from "uplot";
import { h } from "./dom.js";
import type { LiveData } from "./live.js";

/** A guide threshold drawn as a dashed red line across the chart. */
export interface Threshold {
  value: number;
  label: string;
}

/** One chart of the overview: which series (by `<chart>:` prefix), how to print values, which thresholds. */
export interface ChartSpec {
  id: string;
  title: string;
  /** Series name prefixes this chart draws (`calls_upstream` draws `calls_upstream:*`). */
  prefixes: string[];
  fmt: (v: number) => string;
  thresholds?: (data: LiveData) => Threshold[];
  /** Smallest top of the y axis (so an idle chart is not all noise). */
  minTop?: number;
  note?: string;
}

const COLOURS = ["#2f6fdf", "#e0731a", "#2a9d55", "#9b4dca", "#c43d5c", "#1a9db0", "#8a6d1f", "#5b5b5b"];

function thresholdPlugin(get: () => Threshold[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u) => {
          const dpr = devicePixelRatio || 1;
          const ctx = u.ctx;
          for (const t of get()) {
            const y = u.valToPos(t.value, "y", true);
            if (y < u.bbox.top - 1 || y > u.bbox.top + u.bbox.height + 1) continue;
            ctx.save();
            ctx.strokeStyle = "#d23c3c";
            ctx.fillStyle = "#d23c3c";
            ctx.setLineDash([6 * dpr, 4 * dpr]);
            ctx.lineWidth = 1.5 * dpr;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.font = `${11 * dpr}px system-ui, sans-serif`;
            ctx.textAlign = "left";
            ctx.textBaseline = "bottom";
            ctx.fillText(t.label, u.bbox.left + 6 * dpr, y - 4 * dpr);
            ctx.restore();
          }
        },
      ],
    },
  };
}

/** A uPlot line chart fed from the live history; rebuilt only when its set of lines changes. */
export class Chart {
  readonly el: HTMLElement;
  readonly #plotBox: HTMLElement;
  #plot?: uPlot;
  #keys = "";
  #data?: LiveData;
  readonly #resize = new ResizeObserver(() => this.#plot?.setSize(this.#size()));

  constructor(readonly spec: ChartSpec) {
    this.#plotBox = h("div.plot");
    this.el = h("section.chart", { id: `chart-${spec.id}` }, h("h3", spec.title), this.#plotBox, spec.note ? h("p.note", spec.note) : null);
    this.#resize.observe(this.el);
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(240, this.el.clientWidth - 24), height: 170 };
  }

  #keysOf(data: LiveData): string[] {
    return [...data.series.keys()].filter((k) => this.spec.prefixes.includes(k.slice(0, k.indexOf(":")))).sort();
  }

  update(data: LiveData): void {
    this.#data = data;
    const keys = this.#keysOf(data);
    const aligned = [data.t, ...keys.map((k) => data.series.get(k)!)] as uPlot.AlignedData;
    if (keys.join("|") !== this.#keys || !this.#plot) {
      this.#keys = keys.join("|");
      this.#plot?.destroy();
      this.#plot = new uPlot(this.#options(keys), aligned, this.#plotBox);
    } else this.#plot.setData(aligned);
  }

  #options(keys: string[]): uPlot.Options {
    const fmt = this.spec.fmt;
    const thresholds = () => (this.#data && this.spec.thresholds ? this.spec.thresholds(this.#data) : []);
    return {
      ...this.#size(),
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      plugins: [thresholdPlugin(thresholds)],
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(Number.isFinite(max) ? max * 1.1 : 0, this.spec.minTop ?? 0, ...thresholds().map((t) => t.value * 1.15))] },
      },
      axes: [{ stroke: "#667", grid: { stroke: "#eef0f4" } }, { stroke: "#667", grid: { stroke: "#eef0f4" }, size: 58, values: (_u, vals) => vals.map((v) => fmt(v)) }],
      series: [{}, ...keys.map((k, i) => ({ label: k.slice(k.indexOf(":") + 1) + (this.spec.prefixes.length > 1 ? ` (${k.slice(0, k.indexOf(":")).split("_")[0]})` : ""), stroke: COLOURS[i % COLOURS.length], width: 1.6, spanGaps: false, points: { show: false }, value: (_u: uPlot, v: number | null) => (v == null ? "-" : fmt(v)) }))],
    };
  }
}
