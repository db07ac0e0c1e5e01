/// <reference lib="dom" />
// @ts-check
// Line charts on uPlot (loaded as a classic script: globalThis.uPlot).
// Every line keeps its own x values (uPlot's mode 2), so runs logged at
// different steps need no common grid; bands are filled beneath the lines.
// Hover lists the value of every line at the cursor; dragging zooms the x
// axis (the caller re-fetches the range), double-click resets.

import { alpha } from "./colors.js";
import { fill, h } from "./dom.js";
import { fmtDuration, fmtNum } from "./format.js";
import { nearestIndex } from "./series_math.js";

/** @typedef {import("uplot/dist/uPlot.d.ts")} UPlot */
/** @typedef {import("uplot/dist/uPlot.d.ts").Options} UPlotOptions */
/** @typedef {import("uplot/dist/uPlot.d.ts").AlignedData} UPlotData */

/**
 * uPlot, from its classic script (index.html loads it before the modules).
 * @type {typeof import("uplot/dist/uPlot.d.ts")}
 */
const uPlot = /** @type {any} */ (globalThis).uPlot;

/**
 * A line: its own x values (ascending) and y values (null for a gap).
 * @typedef {object} ChartLine
 * @property {number[]} xs
 * @property {(number | null)[]} ys
 * @property {string} color  `#rrggbb`.
 * @property {string} label
 * @property {number} [width]  Pixels; default 1.
 * @property {number[]} [dash]
 * @property {boolean} [hidden]  Left out of the hover list.
 */

/**
 * A band filled between `lo` and `hi`, beneath the lines.
 * @typedef {object} ChartBand
 * @property {number[]} xs
 * @property {number[]} lo
 * @property {number[]} hi
 * @property {string} color  `#rrggbb`; filled translucent.
 */

/**
 * What the x values are: steps, epochs, or seconds (shown as durations).
 * @typedef {"step" | "epoch" | "time"} XKind
 */

/**
 * @typedef {object} ChartOptions
 * @property {number} height  Pixels.
 * @property {XKind} xKind  "time" is seconds, shown as durations.
 * @property {boolean} logY  A logarithmic y axis.
 * @property {(range: [number, number] | null) => void} [onZoom]  After the x
 *   range changes by a drag ([min, max]) or a reset (null).
 */

/**
 * A chart in a container: every line keeps its own x values, hover lists
 * each line's value at the cursor, a drag zooms the x axis and reports it
 * through `onZoom`, a double-click resets.
 */
export class LineChart {
  /** @type {HTMLElement} */
  #container;
  /** @type {ChartOptions} */
  #options;
  /** @type {UPlot | null} */
  #plot = null;
  /** @type {HTMLDivElement} */
  #tooltip;
  /** @type {ChartLine[]} */
  #lines = [];
  /** @type {ChartBand[]} */
  #bands = [];
  /** @type {[number, number] | null} */
  #zoomed = null;
  /** @type {ResizeObserver} */
  #resize;
  #settingY = false;

  /**
   * @param {HTMLElement} container  Gets the plot and its tooltip.
   * @param {Partial<ChartOptions>} [options]  Default: 320 px high, by step, linear.
   */
  constructor(container, options = {}) {
    this.#container = container;
    this.#options = { height: 320, xKind: "step", logY: false, ...options };
    this.#tooltip = h("div.chart-tip", { hidden: true });
    container.classList.add("chart");
    container.append(this.#tooltip);
    this.#resize = new ResizeObserver(() => {
      const width = this.#width();
      if (this.#plot && width > 0 && width !== this.#plot.width) {
        this.#plot.setSize({ width, height: this.#options.height });
      }
    });
    this.#resize.observe(container);
  }

  /**
   * The x range the user zoomed to, or null.
   * @returns {[number, number] | null}
   */
  get zoomed() {
    return this.#zoomed;
  }

  /**
   * Lines drawn.
   * @returns {number}
   */
  get lineCount() {
    return this.#lines.length;
  }

  /**
   * Replaces the data. With `keepZoom` the zoomed x range stays (for data
   * re-fetched for that range); otherwise the axes fit the data.
   * @param {ChartLine[]} lines
   * @param {ChartBand[]} [bands]
   * @param {{ keepZoom?: boolean }} [options]
   */
  setData(lines, bands = [], { keepZoom = false } = {}) {
    const plot = this.#plot;
    const before = this.#lines;
    const sameShape = plot !== null && lines.length === before.length &&
      lines.every((line, i) =>
        line.color === before[i]?.color &&
        (line.width ?? 1) === (before[i]?.width ?? 1)
      );
    this.#lines = lines;
    this.#bands = bands;
    this.#container.dataset.lines = String(lines.length);
    if (!keepZoom) this.#zoomed = null;
    const data = _facets(lines);
    if (!sameShape || plot === null) {
      this.#build(data);
    } else {
      plot.setData(data, !keepZoom || this.#zoomed === null);
      if (keepZoom && this.#zoomed) this.#fitY();
    }
    if (lines.length === 0) this.#container.dataset.empty = "true";
    else delete this.#container.dataset.empty;
  }

  /**
   * Changes the x kind or the log scale; rebuilds the plot.
   * @param {Partial<ChartOptions>} options
   */
  configure(options) {
    Object.assign(this.#options, options);
    if (this.#plot) this.#build(_facets(this.#lines));
  }

  /** Removes the plot and stops watching the container's size. */
  destroy() {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  #width() {
    return Math.max(200, Math.floor(this.#container.clientWidth));
  }

  /** @param {UPlotData} data */
  #build(data) {
    this.#plot?.destroy();
    const { xKind, logY, height } = this.#options;
    /** @type {(u: UPlot, splits: number[], axisIdx: number, space: number, incr: number) => string[]} */
    const xValues = (_u, splits, _axis, _space, incr) =>
      splits.map((v) => {
        if (v === null) return "";
        if (xKind !== "time") return fmtNum(v);
        // Sub-second ticks need decimals; longer spans read as durations.
        if (incr < 1) {
          return `${v.toFixed(Math.min(6, Math.ceil(-Math.log10(incr))))}s`;
        }
        return fmtDuration(v);
      });
    /** @type {UPlotOptions} */
    const opts = {
      mode: 2,
      width: this.#width(),
      height,
      padding: [12, 12, 0, 0],
      legend: { show: false },
      scales: {
        x: { time: false, auto: true },
        y: {
          distr: logY ? 3 : 1,
          auto: true,
          range: (u, min, max) => this.#yRange(u, min, max),
        },
      },
      axes: [
        {
          values: xValues,
          stroke: "#555",
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
        },
        {
          values: (_u, splits) =>
            splits.map((v) => v === null ? "" : fmtNum(v)),
          stroke: "#555",
          size: 64,
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
        },
      ],
      series: [
        {},
        ...this.#lines.map((line) => ({
          label: line.label,
          stroke: line.color,
          width: line.width ?? 1,
          dash: line.dash,
          points: { show: false },
          paths: uPlot.paths.linear?.(),
          facets: [{ scale: "x", auto: true }, { scale: "y", auto: true }],
        })),
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        dataIdx: () => null,
      },
      hooks: {
        drawClear: [(u) => this.#drawBands(u)],
        setSelect: [(u) => this.#onSelect(u)],
        setCursor: [(u) => this.#hover(u)],
      },
    };
    const plot = new uPlot(opts, data, this.#container);
    this.#plot = plot;
    plot.over.addEventListener(
      "mouseleave",
      () => (this.#tooltip.hidden = true),
    );
    plot.over.addEventListener("dblclick", () => {
      if (this.#zoomed === null) return;
      this.#zoomed = null;
      this.#options.onZoom?.(null);
    });
    this.#container.append(this.#tooltip);
  }

  /**
   * The y range over the points inside the visible x range.
   * @param {UPlot} u
   * @param {number | null} dataMin  uPlot's own, used when no point is visible.
   * @param {number | null} dataMax
   * @returns {[number, number]}
   */
  #yRange(u, dataMin, dataMax) {
    const x = u.scales.x;
    let min = Infinity, max = -Infinity;
    const lo = this.#zoomed ? x?.min ?? -Infinity : -Infinity,
      hi = this.#zoomed ? x?.max ?? Infinity : Infinity;
    const logY = this.#options.logY;
    /** @param {number | null | undefined} v */
    const take = (v) => {
      if (
        v === null || v === undefined || !Number.isFinite(v) ||
        (logY && v <= 0)
      ) return;
      if (v < min) min = v;
      if (v > max) max = v;
    };
    for (const line of this.#lines) {
      const xs = line.xs, ys = line.ys;
      for (let i = 0; i < xs.length; i++) {
        const xi = /** @type {number} */ (xs[i]);
        if (xi >= lo && xi <= hi) take(ys[i]);
      }
    }
    for (const band of this.#bands) {
      for (let i = 0; i < band.xs.length; i++) {
        const xi = /** @type {number} */ (band.xs[i]);
        if (xi >= lo && xi <= hi) {
          take(band.lo[i]);
          take(band.hi[i]);
        }
      }
    }
    if (min === Infinity) {
      if (dataMin === null || !Number.isFinite(dataMin)) {
        return logY ? [1, 10] : [0, 1];
      }
      min = dataMin;
      max = dataMax ?? dataMin;
    }
    if (logY) {
      const [a, b] = uPlot.rangeLog(min, max, 10, true);
      return [a ?? min, b ?? max];
    }
    if (min === max) {
      const pad = Math.abs(min) * 0.1 || 1;
      return [min - pad, max + pad];
    }
    const pad = (max - min) * 0.05;
    return [min - pad, max + pad];
  }

  #fitY() {
    if (this.#settingY || !this.#plot) return;
    this.#settingY = true;
    try {
      const [min, max] = this.#yRange(this.#plot, null, null);
      this.#plot.setScale("y", { min, max });
    } finally {
      this.#settingY = false;
    }
  }

  /**
   * A drag over the plot: zoom the x axis to it, fit y, let the caller refine it.
   * @param {UPlot} u
   */
  #onSelect(u) {
    const { left, width } = u.select;
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (width < 3) return;
    const min = u.posToVal(left, "x"), max = u.posToVal(left + width, "x");
    this.#zoomed = [min, max];
    u.setScale("x", { min, max });
    this.#fitY();
    this.#options.onZoom?.([min, max]);
  }

  /** @param {UPlot} u */
  #drawBands(u) {
    if (this.#bands.length === 0) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (const band of this.#bands) {
      const n = band.xs.length;
      if (n === 0) continue;
      /** @param {number[]} values @param {number} i @param {string} scale */
      const pos = (values, i, scale) =>
        u.valToPos(/** @type {number} */ (values[i]), scale, true);
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const px = pos(band.xs, i, "x");
        const py = pos(band.hi, i, "y");
        i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py);
      }
      for (let i = n - 1; i >= 0; i--) {
        ctx.lineTo(pos(band.xs, i, "x"), pos(band.lo, i, "y"));
      }
      ctx.closePath();
      ctx.fillStyle = alpha(band.color, 0.18);
      ctx.fill();
    }
    ctx.restore();
  }

  /**
   * Lists every line's value at the cursor, nearest point by x.
   * @param {UPlot} u
   */
  #hover(u) {
    const { left, top } = u.cursor;
    if (
      left === undefined || top === undefined || left < 0 ||
      this.#lines.length === 0
    ) {
      this.#tooltip.hidden = true;
      return;
    }
    const x = u.posToVal(left, "x");
    const y = u.posToVal(top, "y");
    /** @type {{ line: ChartLine, x: number, v: number }[]} */
    const rows = [];
    for (const line of this.#lines) {
      if (line.hidden) continue;
      const i = nearestIndex(line.xs, x);
      if (i < 0) continue;
      const v = line.ys[i];
      if (v === null || v === undefined) continue;
      rows.push({ line, x: /** @type {number} */ (line.xs[i]), v });
    }
    const first = rows[0];
    if (first === undefined) {
      this.#tooltip.hidden = true;
      return;
    }
    rows.sort((a, b) => b.v - a.v);
    let nearest = /** @type {typeof first} */ (rows[0]);
    for (const row of rows) {
      if (Math.abs(row.v - y) < Math.abs(nearest.v - y)) nearest = row;
    }
    const shown = rows.length > 14 ? _around(rows, nearest, 14) : rows;
    const fmtX = this.#options.xKind === "time" ? fmtDuration : fmtNum;
    const label =
      { step: "step", epoch: "epoch", time: "time" }[this.#options.xKind];
    fill(
      this.#tooltip,
      h("div.tip-head", { text: `${label} ${fmtX(nearest.x)}` }),
      ...shown.map((row) =>
        h(
          `div.tip-row${row === nearest ? ".near" : ""}`,
          {},
          h("span.swatch", { style: { background: row.line.color } }),
          h("span.tip-label", { text: row.line.label }),
          h("span.tip-value", { text: fmtNum(row.v) }),
        )
      ),
      rows.length > shown.length
        ? h("div.tip-more", {
          text: `${rows.length - shown.length} more lines`,
        })
        : null,
    );
    this.#tooltip.hidden = false;
    const box = this.#container.getBoundingClientRect();
    const plotLeft = u.over.getBoundingClientRect().left - box.left;
    const tipWidth = this.#tooltip.offsetWidth;
    const px = plotLeft + left + 16;
    this.#tooltip.style.left = `${
      px + tipWidth > box.width ? px - tipWidth - 32 : px
    }px`;
    this.#tooltip.style.top = `${Math.max(0, top - 20)}px`;
  }
}

/**
 * uPlot's data for lines with their own x values (mode 2): a facet [xs, ys]
 * per line after an empty first slot. uPlot's types describe only aligned
 * data, hence the cast.
 * @param {ChartLine[]} lines
 * @returns {UPlotData}
 */
function _facets(lines) {
  return /** @type {UPlotData} */ (/** @type {unknown} */ ([
    null,
    ...lines.map((line) => [line.xs, line.ys]),
  ]));
}

/**
 * `count` rows centred on `row` in the sorted list.
 * @template T
 * @param {T[]} rows
 * @param {T} row
 * @param {number} count
 * @returns {T[]}
 */
function _around(rows, row, count) {
  const at = rows.indexOf(row);
  const start = Math.max(
    0,
    Math.min(rows.length - count, at - Math.floor(count / 2)),
  );
  return rows.slice(start, start + count);
}
