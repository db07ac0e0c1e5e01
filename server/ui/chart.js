/// <reference lib="dom" />
// @ts-check
// Line charts on uPlot (loaded as a classic script: globalThis.uPlot).
// Every line keeps its own x values (uPlot's mode 2), so runs logged at
// different steps need no common grid. What a line looks like is decided
// by the drawing contract (series_draw.js); this module draws it: bands
// (a coarse line's envelope, a group's spread) filled beneath the lines,
// clipped at the lower edge with a mark where a log scale cannot show
// them, coarse lines dashed unless a line has a dash pattern of its own. Hover lists the values at the cursor; dragging
// zooms the x axis (the caller re-reads the range), double-click resets.
// The container's `aimChart` property is this chart, whose `drawn()` tells
// tests what is drawn.

import { alpha } from "./colors.js";
import { fill, h } from "./dom.js";
import { fmtClock, fmtDuration, fmtNum } from "./format.js";
import { nearestIndex } from "./series_math.js";
import { INTEGER_INCRS, SECOND_INCRS } from "./units.js";

/** @typedef {import("uplot/dist/uPlot.d.ts")} UPlot */
/** @typedef {import("uplot/dist/uPlot.d.ts").Options} UPlotOptions */
/** @typedef {import("uplot/dist/uPlot.d.ts").AlignedData} UPlotData */
/** @typedef {import("uplot/dist/uPlot.d.ts").Series.Paths} UPlotPaths */
/** @import { Band, ChartLine, XKind } from "./series_draw.js" */
/** @import { Unit } from "./units.js" */

/**
 * uPlot, from its classic script (index.html loads it before the modules).
 * @type {typeof import("uplot/dist/uPlot.d.ts")}
 */
const uPlot = /** @type {any} */ (globalThis).uPlot;

/** Narrowest y axis, in CSS pixels: charts side by side line up unless a label needs more. */
const Y_AXIS = 64;
/** The axes' font (uPlot's default size, the page's own face). */
const AXIS_FONT = "12px system-ui, sans-serif";
/** uPlot's tick marks and their gap to the labels, in CSS pixels. */
const TICK_ROOM = 10 + 5;
/** The plot's padding: top, right, bottom, left. */
const PADDING = /** @type {[number, number, number, number]} */ ([
  12,
  12,
  0,
  0,
]);
/** Dashes of a coarse line (a preview). */
const COARSE_DASH = [5, 3];
/** Units of a time axis' ticks, largest first. */
const TICK_UNITS = /** @type {const} */ ([["d", 86400], ["h", 3600], [
  "m",
  60,
]]);
/** Rows of the hover list around the nearest line. */
const TIP_ROWS = 14;

/**
 * @typedef {object} ChartOptions
 * @property {number} height  Pixels.
 * @property {XKind} xKind  "time" is seconds, shown as durations.
 * @property {boolean} logY  A logarithmic y axis.
 * @property {Unit | null} [unit]  The values' unit, on the y axis and in
 *   the hover; none by default.
 * @property {number} [xStart]  For a time axis: seconds since the epoch at
 *   x = 0, so that the hover tells the time of day too.
 * @property {(range: [number, number] | null) => void} [onZoom]  After the x
 *   range changes by a drag ([min, max]) or a reset (null).
 * @property {() => void} [onResize]  After the plot's width changed.
 * @property {YLimits} [yLimits]  How the y range is set; by the values
 *   drawn by default.
 * @property {{ key: string }} [sync]  Charts of one key share the cursor.
 */

/**
 * How a chart's y range is set: from every value drawn in the visible x
 * range, or (`robust`) from their 1st to 99th percentile, so that a few
 * spikes do not flatten the rest; a bound given by hand wins over either.
 * @typedef {object} YLimits
 * @property {boolean} robust
 * @property {number | null} min
 * @property {number | null} max
 */

/** Percentiles of the drawn values that bound a robust y range. */
const ROBUST_PERCENTILES = /** @type {const} */ ([0.01, 0.99]);

/**
 * A chart in a container: every line keeps its own x values, hover lists
 * the values at the cursor, a drag zooms the x axis and reports it through
 * `onZoom`, a double-click resets.
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
  /** @type {[number, number] | null} */
  #zoomed = null;
  /** @type {ResizeObserver} */
  #resize;
  #settingY = false;
  /**
   * The y extent last scanned, and of what: lines, visible x range, scale.
   * @type {{ lines: ChartLine[], lo: number, hi: number, logY: boolean, robust: boolean, min: number, max: number }}
   */
  #extent = {
    lines: [],
    lo: 0,
    hi: 0,
    logY: false,
    robust: false,
    min: 0,
    max: 0,
  };
  /** The tick labels last drawn on each axis, for tests. */
  #ticks = { x: /** @type {string[]} */ ([]), y: /** @type {string[]} */ ([]) };

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
    Object.defineProperty(container, "aimChart", {
      value: this,
      configurable: true,
    });
    this.#resize = new ResizeObserver(() => {
      const width = this.#width();
      if (this.#plot && width > 0 && width !== this.#plot.width) {
        this.#plot.setSize({ width, height: this.#options.height });
        this.#options.onResize?.();
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
   * Width of the plotting area in CSS pixels (what a read at pixel
   * resolution asks for), also before anything is drawn.
   * @returns {number}
   */
  get plotWidth() {
    const plot = this.#plot;
    if (plot !== null && plot.bbox.width > 0) {
      return Math.round(plot.bbox.width / devicePixelRatio);
    }
    return Math.max(1, this.#width() - Y_AXIS - PADDING[1] - PADDING[3]);
  }

  /**
   * What is drawn now, for tests: the lines as given to {@link setData}.
   * @returns {ChartLine[]}
   */
  drawn() {
    return this.#lines;
  }

  /**
   * The tick labels drawn on the axes (uPlot draws them on its canvas), in
   * `font`, for tests.
   * @returns {{ x: string[], y: string[], font: string }}
   */
  ticks() {
    return { ...this.#ticks, font: AXIS_FONT };
  }

  /**
   * The x and y ranges drawn, for tests; null before anything is.
   * @returns {{ x: [number, number], y: [number, number] } | null}
   */
  scales() {
    const x = this.#plot?.scales.x, y = this.#plot?.scales.y;
    if (x?.min == null || x.max == null || y?.min == null || y.max == null) {
      return null;
    }
    return { x: [x.min, x.max], y: [y.min, y.max] };
  }

  /**
   * Zooms the x axis to `range` (null: back to the data's) without
   * reporting it: another chart was zoomed.
   * @param {[number, number] | null} range
   */
  zoomTo(range) {
    this.#zoomed = range;
    if (!this.#plot) return;
    if (range === null) {
      this.#plot.setData(_facets(this.#lines), true);
      return;
    }
    this.#plot.setScale("x", { min: range[0], max: range[1] });
    this.#fitY();
  }

  /**
   * Replaces the lines. With `keepZoom` the zoomed x range stays (for data
   * re-read for that range); otherwise the axes fit the data. No lines
   * leaves the chart empty.
   * @param {ChartLine[]} lines
   * @param {{ keepZoom?: boolean }} [options]
   */
  setData(lines, { keepZoom = false } = {}) {
    const plot = this.#plot;
    const before = this.#lines;
    const sameShape = plot !== null && lines.length === before.length &&
      lines.every((line, i) =>
        line.color === before[i]?.color &&
        (line.width ?? 1) === (before[i]?.width ?? 1) &&
        String(line.dash) === String(before[i]?.dash)
      );
    this.#lines = lines;
    const box = this.#container.dataset;
    box.lines = String(lines.length);
    const coarse = lines.filter((line) => line.coarse).length;
    box.coarse = String(coarse);
    box.resolution = coarse > 0 ? "preview" : "full";
    if (!keepZoom) this.#zoomed = null;
    if (lines.length === 0) {
      // uPlot cannot be built without a line: nothing to draw, no plot.
      this.#plot?.destroy();
      this.#plot = null;
      this.#tooltip.hidden = true;
      box.empty = "true";
      return;
    }
    delete box.empty;
    const data = _facets(lines);
    if (!sameShape || plot === null) {
      this.#build(data);
      return;
    }
    lines.forEach((line, i) => {
      const series = plot.series[i + 1];
      if (series) {
        series.dash = _dashOf(line);
        series.label = line.label;
      }
    });
    plot.setData(data, !keepZoom || this.#zoomed === null);
    if (keepZoom && this.#zoomed) this.#fitY();
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
      this.#ticks.x = splits.map((v) => {
        if (v === null) return "";
        if (xKind !== "time") return fmtNum(v);
        // Sub-second ticks need decimals; longer spans read as durations.
        if (incr < 1) {
          return `${v.toFixed(Math.min(6, Math.ceil(-Math.log10(incr))))}s`;
        }
        // Ticks fall on whole minutes, hours or days: "5m", not "5m 00s".
        for (const [unit, seconds] of TICK_UNITS) {
          if (v >= seconds && v % seconds === 0) return `${v / seconds}${unit}`;
        }
        return v < 60 ? `${v}s` : fmtDuration(v);
      });
    const unit = this.#options.unit ?? null;
    /** @type {UPlotOptions} */
    const opts = {
      mode: 2,
      width: this.#width(),
      height,
      padding: PADDING,
      legend: { show: false },
      scales: {
        x: {
          time: false,
          auto: true,
          range: (_u, min, max) => this.#xRange(min, max),
        },
        y: {
          distr: logY ? 3 : 1,
          auto: true,
          range: (u, min, max) => this.#yRange(u, min, max),
        },
      },
      axes: [
        {
          values: xValues,
          // Steps and epochs are whole; seconds tick at minutes, hours…
          incrs: xKind === "time" ? SECOND_INCRS : INTEGER_INCRS,
          stroke: "#555",
          font: AXIS_FONT,
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
        },
        {
          values: (_u, splits, _axis, _space, incr) =>
            this.#ticks.y = unit
              ? unit.axis(splits, incr)
              : splits.map((v) => v === null ? "" : fmtNum(v)),
          ...(unit?.integer ? { incrs: INTEGER_INCRS } : {}),
          stroke: "#555",
          font: AXIS_FONT,
          // Wide enough for its longest label ("14.867 MB" is not cut).
          size: (_u, values) => _axisWidth(values ?? []),
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
          dash: _dashOf(line),
          points: { show: false },
          paths: (/** @type {UPlot} */ u, /** @type {number} */ i) =>
            this.#linePath(u, i),
          facets: [{ scale: "x", auto: true }, { scale: "y", auto: true }],
        })),
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        dataIdx: () => null,
        // Only the cursor: a zoom reaches the other charts through onZoom.
        ...(this.#options.sync
          ? {
            sync: {
              key: this.#options.sync.key,
              scales: ["x", null],
              filters: { pub: (type) => type === "mousemove" },
            },
          }
          : {}),
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
   * The path of line `seriesIdx` (uPlot's series index, 1 for the first
   * line): through its points in order at whole device pixels, broken at
   * gaps (null, or ≤ 0 on a log scale). It is what uPlot's linear paths draw for lines of a few
   * points per pixel column, made with one affine map per axis rather than
   * a scale lookup per point, and a point on the same pixel as the one
   * before is left out: hundreds of lines at pixel resolution are more
   * than a million points.
   * @param {UPlot} u
   * @param {number} seriesIdx
   * @returns {UPlotPaths}
   */
  #linePath(u, seriesIdx) {
    const stroke = new Path2D();
    const line = this.#lines[seriesIdx - 1];
    const x = u.scales.x, y = u.scales.y;
    /** @type {UPlotPaths} */
    const paths = { stroke, fill: null, clip: null, flags: 0 };
    if (
      line === undefined || x?.min == null || x.max == null ||
      y?.min == null || y.max == null
    ) return paths;
    const logY = this.#options.logY;
    /** @param {number} v */
    const fy = (v) => logY ? Math.log10(v) : v;
    // Canvas pixels are affine in x, and in y (or its log on a log scale).
    const x0 = u.valToPos(x.min, "x", true), x1 = u.valToPos(x.max, "x", true);
    const ax = x.max > x.min ? (x1 - x0) / (x.max - x.min) : 0;
    const bx = x0 - ax * x.min;
    const y0 = u.valToPos(y.min, "y", true), y1 = u.valToPos(y.max, "y", true);
    const ay = y.max > y.min ? (y1 - y0) / (fy(y.max) - fy(y.min)) : 0;
    const by = y0 - ay * fy(y.min);
    const { xs, ys } = line;
    let lastX = NaN, lastY = NaN, gap = true;
    for (let i = 0; i < xs.length; i++) {
      const v = ys[i];
      if (v === null || v === undefined || (logY && !(v > 0))) {
        gap = true;
        continue;
      }
      const px = Math.round(ax * /** @type {number} */ (xs[i]) + bx);
      const py = Math.round(ay * (logY ? Math.log10(v) : v) + by);
      if (gap) stroke.moveTo(px, py);
      else if (px !== lastX || py !== lastY) stroke.lineTo(px, py);
      else continue;
      gap = false;
      lastX = px;
      lastY = py;
    }
    return paths;
  }

  /**
   * The zoomed x range, or else every line and every band (an envelope
   * spans its buckets' steps, beyond its line's points).
   * @param {number | null} dataMin  uPlot's own, over the lines.
   * @param {number | null} dataMax
   * @returns {[number, number]}
   */
  #xRange(dataMin, dataMax) {
    if (this.#zoomed) return this.#zoomed;
    let min = dataMin ?? Infinity, max = dataMax ?? -Infinity;
    for (const line of this.#lines) {
      const band = line.band;
      const n = band?.x0.length ?? 0;
      if (!band || n === 0) continue;
      min = Math.min(min, /** @type {number} */ (band.x0[0]));
      max = Math.max(max, /** @type {number} */ (band.x1[n - 1]));
    }
    if (min > max) return [0, 1];
    if (min === max) return [min - 1, max + 1];
    return [min, max];
  }

  /**
   * The y range over the lines and bands inside the visible x range; a log
   * scale leaves out what it cannot show (values ≤ 0, clipped band edges).
   * @param {UPlot} u
   * @param {number | null} dataMin  uPlot's own, used when nothing is visible.
   * @param {number | null} dataMax
   * @returns {[number, number]}
   */
  #yRange(u, dataMin, dataMax) {
    const x = u.scales.x;
    const lo = this.#zoomed ? x?.min ?? -Infinity : -Infinity,
      hi = this.#zoomed ? x?.max ?? Infinity : Infinity;
    const logY = this.#options.logY;
    const limits = this.#options.yLimits ?? null;
    const robust = limits?.robust ?? false;
    // uPlot asks again for each scale set; the lines are hundreds of
    // thousands of points.
    const seen = this.#extent;
    if (
      seen.lines !== this.#lines || seen.lo !== lo || seen.hi !== hi ||
      seen.logY !== logY || seen.robust !== robust
    ) {
      this.#extent = {
        lines: this.#lines,
        lo,
        hi,
        logY,
        robust,
        ...(robust
          ? _percentilesY(this.#lines, lo, hi, logY)
          : _extentY(this.#lines, lo, hi, logY)),
      };
    }
    let { min, max } = this.#extent;
    const handMin = limits?.min ?? null, handMax = limits?.max ?? null;
    if (handMin !== null || handMax !== null) {
      return _handRange(handMin, handMax, min, max, logY);
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

  /**
   * Fills each line's band beneath the lines: between `lo` and `hi`, flat
   * across each entry's x0…x1 and straight between entries, broken at gaps.
   * An edge clipped at the lower edge (-Infinity) sits on it, marked by a
   * dashed stroke along the edge.
   * @param {UPlot} u
   */
  #drawBands(u) {
    const banded = this.#lines.filter((line) => line.band);
    if (banded.length === 0) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const bottom = top + height;
    // Many bands on top of each other would hide everything.
    const fillAlpha = Math.max(0.04, Math.min(0.18, 1.5 / banded.length));
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    /** @param {number} v */
    const x = (v) => u.valToPos(v, "x", true);
    /** @param {number} v */
    const y = (v) => v === -Infinity ? bottom : u.valToPos(v, "y", true);
    for (const line of banded) {
      const band = /** @type {Band} */ (line.band);
      const n = band.x0.length;
      ctx.fillStyle = alpha(line.color, fillAlpha);
      let from = 0;
      while (from < n) {
        while (from < n && band.lo[from] == null) from++;
        let to = from;
        while (to < n && band.lo[to] != null && band.hi[to] != null) to++;
        if (to > from) _fillSpan(ctx, band, from, to, x, y);
        from = to + 1;
      }
      ctx.strokeStyle = line.color;
      ctx.lineWidth = 3 * devicePixelRatio;
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (band.lo[i] !== -Infinity) continue;
        const x0 = x(/** @type {number} */ (band.x0[i]));
        const x1 = x(/** @type {number} */ (band.x1[i]));
        ctx.moveTo(x0 - 1, bottom - ctx.lineWidth / 2);
        ctx.lineTo(Math.max(x1, x0 + 2) + 1, bottom - ctx.lineWidth / 2);
      }
      ctx.stroke();
    }
    ctx.restore();
  }

  /**
   * Lists the values of the lines at the cursor, nearest point by x: the
   * {@link TIP_ROWS} values nearest the cursor's, and how many more. A
   * coarse line's value is its bucket's last, with the bucket's range.
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
    const unit = this.#options.unit ?? null;
    /** @param {number} v */
    const fmtY = (v) => unit ? unit.format(v) : fmtNum(v);
    /** @type {{ line: ChartLine, x: number, v: number, range: string }[]} */
    const rows = [];
    for (const line of this.#lines) {
      if (line.hidden) continue;
      const i = nearestIndex(line.xs, x);
      if (i < 0) continue;
      const v = line.ys[i];
      if (v === null || v === undefined) continue;
      const lo = line.coarse ? line.band?.lo[i] : null;
      const hi = line.coarse ? line.band?.hi[i] : null;
      const range = typeof lo === "number" && typeof hi === "number" &&
          lo !== hi
        ? ` (${lo === -Infinity ? "≤ 0" : fmtY(lo)} – ${fmtY(hi)})`
        : "";
      rows.push({ line, x: /** @type {number} */ (line.xs[i]), v, range });
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
    const shown = rows.length > TIP_ROWS
      ? _around(rows, nearest, TIP_ROWS)
      : rows;
    const { xKind, xStart } = this.#options;
    const head = xKind === "time"
      ? `time ${fmtDuration(nearest.x)}${
        xStart === undefined ? "" : ` · ${fmtClock(xStart + nearest.x)}`
      }`
      : `${xKind} ${fmtNum(nearest.x)}`;
    fill(
      this.#tooltip,
      h("div.tip-head", { text: head }),
      ...shown.map((row) =>
        h(
          `div.tip-row${row === nearest ? ".near" : ""}`,
          {},
          h("span.swatch", { style: { background: row.line.color } }),
          h("span.tip-label", { text: row.line.label }),
          h("span.tip-value", { text: `${fmtY(row.v)}${row.range}` }),
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
      px + tipWidth > box.width ? Math.max(0, px - tipWidth - 32) : px
    }px`;
    this.#tooltip.style.top = `${Math.max(0, top - 20)}px`;
  }
}

/**
 * The lowest and highest value of the lines and bands between the x values
 * `lo` and `hi` that the y scale can show (no value ≤ 0 on a log scale);
 * Infinity and -Infinity when there is none.
 * @param {ChartLine[]} lines
 * @param {number} lo
 * @param {number} hi
 * @param {boolean} logY
 * @returns {{ min: number, max: number }}
 */
function _extentY(lines, lo, hi, logY) {
  let min = Infinity, max = -Infinity;
  /** @param {number | null | undefined} v */
  const take = (v) => {
    if (
      v === null || v === undefined || !Number.isFinite(v) ||
      (logY && v <= 0)
    ) return;
    if (v < min) min = v;
    if (v > max) max = v;
  };
  for (const line of lines) {
    const xs = line.xs, ys = line.ys;
    for (let i = 0; i < xs.length; i++) {
      const xi = /** @type {number} */ (xs[i]);
      if (xi >= lo && xi <= hi) take(ys[i]);
    }
    const band = line.band;
    if (!band) continue;
    for (let i = 0; i < band.x0.length; i++) {
      const x0 = /** @type {number} */ (band.x0[i]);
      const x1 = /** @type {number} */ (band.x1[i]);
      if (x1 >= lo && x0 <= hi) {
        take(band.lo[i]);
        take(band.hi[i]);
      }
    }
  }
  return { min, max };
}

/**
 * The 1st and 99th percentile of the line values (bands left out) between
 * the x values `lo` and `hi` that the y scale can show; Infinity and
 * -Infinity when there is none.
 * @param {ChartLine[]} lines
 * @param {number} lo
 * @param {number} hi
 * @param {boolean} logY
 * @returns {{ min: number, max: number }}
 */
function _percentilesY(lines, lo, hi, logY) {
  let n = 0;
  for (const line of lines) n += line.ys.length;
  const values = new Float64Array(n);
  n = 0;
  for (const line of lines) {
    const xs = line.xs, ys = line.ys;
    for (let i = 0; i < xs.length; i++) {
      const v = ys[i], xi = /** @type {number} */ (xs[i]);
      if (
        v === null || v === undefined || !Number.isFinite(v) ||
        (logY && v <= 0) || xi < lo || xi > hi
      ) continue;
      values[n++] = v;
    }
  }
  if (n === 0) return { min: Infinity, max: -Infinity };
  const sorted = values.subarray(0, n).sort();
  const [p0, p1] = ROBUST_PERCENTILES;
  return {
    min: /** @type {number} */ (sorted[Math.floor(p0 * (n - 1))]),
    max: /** @type {number} */ (sorted[Math.ceil(p1 * (n - 1))]),
  };
}

/**
 * A y range with bounds set by hand: a missing one is the data's
 * (`min`, `max`, Infinity when nothing is drawn), and a range left empty
 * or upside down, or ≤ 0 on a log scale, gets a width of its own.
 * @param {number | null} handMin
 * @param {number | null} handMax
 * @param {number} min
 * @param {number} max
 * @param {boolean} logY
 * @returns {[number, number]}
 */
function _handRange(handMin, handMax, min, max, logY) {
  let a = handMin ?? (Number.isFinite(min) ? min : handMax ?? 0);
  let b = handMax ?? (Number.isFinite(max) ? max : a);
  if (logY) {
    if (!(a > 0)) a = b > 0 ? b / 10 : 1;
    if (!(b > a)) b = a * 10;
    return [a, b];
  }
  if (!(b > a)) {
    if (handMax === null) b = a + (Math.abs(a) || 1);
    else a = b - (Math.abs(b) || 1);
  }
  return [a, b];
}

/**
 * Fills the band between entries `from` and `to` (exclusive).
 * @param {CanvasRenderingContext2D} ctx
 * @param {Band} band
 * @param {number} from
 * @param {number} to
 * @param {(v: number) => number} x  Canvas x of an x value.
 * @param {(v: number) => number} y  Canvas y of a value (-Infinity: the lower edge).
 */
function _fillSpan(ctx, band, from, to, x, y) {
  ctx.beginPath();
  for (let i = from; i < to; i++) {
    const hi = y(/** @type {number} */ (band.hi[i]));
    const x0 = x(/** @type {number} */ (band.x0[i]));
    const x1 = x(/** @type {number} */ (band.x1[i]));
    i === from ? ctx.moveTo(x0, hi) : ctx.lineTo(x0, hi);
    ctx.lineTo(x1, hi);
  }
  for (let i = to - 1; i >= from; i--) {
    const lo = y(/** @type {number} */ (band.lo[i]));
    ctx.lineTo(x(/** @type {number} */ (band.x1[i])), lo);
    ctx.lineTo(x(/** @type {number} */ (band.x0[i])), lo);
  }
  ctx.closePath();
  ctx.fill();
}

/**
 * The dash pattern a line is drawn with, in canvas pixels: its own (a
 * field's value), else the preview's when coarse, else none.
 * @param {ChartLine} line
 * @returns {number[] | undefined}
 */
function _dashOf(line) {
  const dash = line.dash ?? (line.coarse ? COARSE_DASH : undefined);
  return dash?.map((px) => px * devicePixelRatio);
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

/** @type {CanvasRenderingContext2D | null} */
let _measure = null;

/**
 * Width of a y axis whose tick labels are `labels`: the longest one, the
 * tick marks and their gap, and at least {@link Y_AXIS}.
 * @param {string[]} labels
 * @returns {number}
 */
function _axisWidth(labels) {
  _measure ??= document.createElement("canvas").getContext("2d");
  if (_measure === null) return Y_AXIS;
  _measure.font = AXIS_FONT;
  let widest = 0;
  for (const label of labels) {
    widest = Math.max(widest, _measure.measureText(label ?? "").width);
  }
  return Math.max(Y_AXIS, Math.ceil(widest + TICK_ROOM + 2));
}
