// Line charts on uPlot (loaded as a classic script: globalThis.uPlot).
// Every line keeps its own x values (uPlot's mode 2), so runs logged at
// different steps need no common grid; bands are filled beneath the lines.
// Hover lists the value of every line at the cursor; dragging zooms the x
// axis (the caller re-fetches the range), double-click resets.

import { alpha, fill, fmtDuration, fmtNum, h } from "./util.js";

const uPlot = globalThis.uPlot;

/**
 * A chart in `container`.
 *
 * - `lines`: [{xs, ys, color, label, width?, dash?}] (arrays of numbers; ys may hold null)
 * - `bands`: [{xs, lo, hi, color}] filled between lo and hi
 * - `xKind`: "step" | "epoch" | "time" (seconds, shown as durations)
 * - `logY`: logarithmic y axis
 * - `onZoom(range | null)`: after the x range changes by a drag ([min, max]) or a reset (null)
 * - `height`: pixels (default 320)
 */
export class LineChart {
  #container;
  #options;
  #plot = null;
  #tooltip;
  #lines = [];
  #bands = [];
  #zoomed = null;
  #resize;
  #settingY = false;

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

  /** The x range the user zoomed to, or null. */
  get zoomed() {
    return this.#zoomed;
  }

  /** Lines drawn. */
  get lineCount() {
    return this.#lines.length;
  }

  /**
   * Replaces the data. With `keepZoom` the zoomed x range stays (for data
   * re-fetched for that range); otherwise the axes fit the data.
   */
  setData(lines, bands = [], { keepZoom = false } = {}) {
    const sameShape = this.#plot && lines.length === this.#lines.length &&
      lines.every((line, i) =>
        line.color === this.#lines[i].color &&
        (line.width ?? 1) === (this.#lines[i].width ?? 1)
      );
    this.#lines = lines;
    this.#bands = bands;
    this.#container.dataset.lines = String(lines.length);
    if (!keepZoom) this.#zoomed = null;
    const data = [null, ...lines.map((line) => [line.xs, line.ys])];
    if (!sameShape) {
      this.#build(data);
    } else {
      this.#plot.setData(data, !keepZoom || this.#zoomed === null);
      if (keepZoom && this.#zoomed) this.#fitY();
    }
    if (lines.length === 0) this.#container.dataset.empty = "true";
    else delete this.#container.dataset.empty;
  }

  /** Changes x kind / log scale; rebuilds the plot. */
  configure(options) {
    Object.assign(this.#options, options);
    if (this.#plot) {
      this.#build([null, ...this.#lines.map((l) => [l.xs, l.ys])]);
    }
  }

  destroy() {
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  #width() {
    return Math.max(200, Math.floor(this.#container.clientWidth));
  }

  #build(data) {
    this.#plot?.destroy();
    const { xKind, logY, height } = this.#options;
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
          paths: uPlot.paths.linear(),
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
    this.#plot = new uPlot(opts, data, this.#container);
    this.#plot.over.addEventListener(
      "mouseleave",
      () => (this.#tooltip.hidden = true),
    );
    this.#plot.over.addEventListener("dblclick", () => {
      if (this.#zoomed === null) return;
      this.#zoomed = null;
      this.#options.onZoom?.(null);
    });
    this.#container.append(this.#tooltip);
  }

  /** The y range over the points inside the visible x range. */
  #yRange(u, dataMin, dataMax) {
    const x = u.scales.x;
    let min = Infinity, max = -Infinity;
    const lo = this.#zoomed ? x.min : -Infinity,
      hi = this.#zoomed ? x.max : Infinity;
    const logY = this.#options.logY;
    const take = (v) => {
      if (v === null || !Number.isFinite(v) || (logY && v <= 0)) return;
      if (v < min) min = v;
      if (v > max) max = v;
    };
    for (const line of this.#lines) {
      const xs = line.xs, ys = line.ys;
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] >= lo && xs[i] <= hi) take(ys[i]);
      }
    }
    for (const band of this.#bands) {
      for (let i = 0; i < band.xs.length; i++) {
        if (band.xs[i] >= lo && band.xs[i] <= hi) {
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
      max = dataMax;
    }
    if (logY) {
      return uPlot.rangeLog(min, max, 10, true);
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

  /** A drag over the plot: zoom the x axis to it, fit y, let the caller refine it. */
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
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const px = u.valToPos(band.xs[i], "x", true);
        const py = u.valToPos(band.hi[i], "y", true);
        i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py);
      }
      for (let i = n - 1; i >= 0; i--) {
        ctx.lineTo(
          u.valToPos(band.xs[i], "x", true),
          u.valToPos(band.lo[i], "y", true),
        );
      }
      ctx.closePath();
      ctx.fillStyle = alpha(band.color, 0.18);
      ctx.fill();
    }
    ctx.restore();
  }

  /** Lists every line's value at the cursor, nearest point by x. */
  #hover(u) {
    const { left, top } = u.cursor;
    if (left === undefined || left < 0 || this.#lines.length === 0) {
      this.#tooltip.hidden = true;
      return;
    }
    const x = u.posToVal(left, "x");
    const y = u.posToVal(top, "y");
    const rows = [];
    for (const line of this.#lines) {
      if (line.hidden) continue;
      const i = _nearest(line.xs, x);
      if (i < 0) continue;
      const v = line.ys[i];
      if (v === null || v === undefined) continue;
      rows.push({ line, x: line.xs[i], v });
    }
    if (rows.length === 0) {
      this.#tooltip.hidden = true;
      return;
    }
    rows.sort((a, b) => b.v - a.v);
    let nearest = rows[0];
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

/** Index of the x nearest to `x` in the sorted array `xs`, or -1 when empty. */
function _nearest(xs, x) {
  const n = xs.length;
  if (n === 0) return -1;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid;
    else hi = mid;
  }
  return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
}

/** `count` rows centred on `row` in the sorted list. */
function _around(rows, row, count) {
  const at = rows.indexOf(row);
  const start = Math.max(
    0,
    Math.min(rows.length - count, at - Math.floor(count / 2)),
  );
  return rows.slice(start, start + count);
}
