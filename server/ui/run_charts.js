/// <reference lib="dom" />
// @ts-check
// The run page's charts: one per series, grouped by context, each read
// from the run at the plot's pixel width when it scrolls into view and
// drawn by the same contract as the explorer (series_draw.js). A drag
// zooms: the points drawn now show as an envelope where too coarse for the
// new scale until the range is read at pixel resolution; a double-click
// goes back to the whole series, kept.

import { readSeries } from "./api.js";
import { LineChart } from "./chart.js";
import { errorText, h, toast } from "./dom.js";
import { fmtContext } from "./format.js";
import { canonical } from "./params.js";
import {
  chartLine,
  drawSeries,
  toPoints,
  xExtent,
  xsOf,
} from "./series_draw.js";
import { debounce } from "./tasks.js";
import { fmtIn, unitOf } from "./units.js";

/** @import { Run, SeriesSummary } from "./api_types.js" */
/** @import { Points } from "./series_draw.js" */
/** @import { Unit } from "./units.js" */

/**
 * How the charts' axes read.
 * @typedef {object} ChartAxes
 * @property {"step" | "time"} x  Steps, or the time since `start`.
 * @property {number} start  Seconds since the epoch at x = 0 (the run's
 *   creation), for a time axis.
 * @property {boolean} units  The values' units from the series' names
 *   (units.js), on the y axis, in the hover and the last value.
 */

/** The line's colour. */
const COLOR = "#2f6fde";

/**
 * Points read for a chart at a plot's width.
 * @typedef {object} ChartRead
 * @property {Points} points
 * @property {number} width  Buckets asked for: the plot's width then.
 * @property {[number, number] | null} range  The zoomed step range, or null.
 */

/**
 * @typedef {object} ChartCard
 * @property {SeriesSummary} m  The series, as last seen.
 * @property {HTMLElement} box  Holds the chart.
 * @property {HTMLElement} last  Shows the last value.
 * @property {HTMLElement} note  Says when the chart is a preview.
 * @property {Unit | null} unit  Of its values, when known.
 * @property {LineChart | null} chart  Made on the first read.
 * @property {ChartRead | null} full  The whole series.
 * @property {ChartRead | null} zoomed  The zoomed range.
 * @property {AbortController} reading  Aborted by a newer read.
 */

/** The charts of some series of a run. */
export class RunCharts {
  #hash;
  /** @type {Map<Element, ChartCard>} */
  #cards = new Map();
  /** @type {IntersectionObserver | null} */
  #observer = null;
  #stopped = false;
  /** @type {ChartAxes} */
  #axes;

  /**
   * Appends the charts of `series` to `content`, or `emptyText` when there
   * are none.
   * @param {HTMLElement} content
   * @param {string} hash  The run.
   * @param {SeriesSummary[]} series
   * @param {string} emptyText
   * @param {ChartAxes} [axes]  Default: by step, no units.
   */
  constructor(
    content,
    hash,
    series,
    emptyText,
    axes = { x: "step", start: 0, units: false },
  ) {
    this.#hash = hash;
    this.#axes = axes;
    if (series.length === 0) {
      content.append(h("p.empty", { text: emptyText }));
      return;
    }
    /** @type {Map<string, { context: SeriesSummary["context"], items: SeriesSummary[] }>} */
    const groups = new Map();
    for (const m of series) {
      const key = canonical(m.context);
      let group = groups.get(key);
      if (group === undefined) {
        group = { context: m.context, items: [] };
        groups.set(key, group);
      }
      group.items.push(m);
    }
    const observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        const card = this.#cards.get(entry.target);
        if (card) this.#load(card);
      }
    }, { rootMargin: "200px" });
    this.#observer = observer;
    const sorted = [...groups.values()].sort((a, b) =>
      canonical(a.context).localeCompare(canonical(b.context))
    );
    for (const { context, items } of sorted) {
      const grid = h("div.chart-grid");
      for (const m of items.sort((a, b) => a.name.localeCompare(b.name))) {
        const unit = axes.units ? unitOf(m.name) : null;
        const last = h("span.last", { text: `last ${fmtIn(m.last, unit)}` });
        const note = h("span.note");
        const box = h("div.chart-box");
        const card = h(
          "div.chart-card",
          { dataset: { series: m.name } },
          h("div.title", {}, h("span", { text: m.name }), note, last),
          box,
        );
        grid.append(card);
        this.#cards.set(card, {
          m,
          box,
          last,
          note,
          unit,
          chart: null,
          full: null,
          zoomed: null,
          reading: new AbortController(),
        });
        observer.observe(card);
      }
      content.append(
        h(
          "div.context-group",
          {},
          h("h3", {}, "context ", h("code", { text: fmtContext(context) })),
          grid,
        ),
      );
    }
  }

  /**
   * Takes the series summaries of a fresher `run` (last values), and reads
   * again the charts already read and not zoomed.
   * @param {Run} run
   * @returns {Promise<void>}
   */
  async refresh(run) {
    for (const card of this.#cards.values()) {
      const m = run.metrics.find((x) =>
        x.name === card.m.name &&
        canonical(x.context) === canonical(card.m.context)
      );
      if (m) {
        card.m = m;
        card.last.textContent = `last ${fmtIn(m.last, card.unit)}`;
      }
      if (card.full && card.chart?.zoomed === null) await this.#load(card);
    }
  }

  /** Removes the charts; reads under way are aborted. */
  destroy() {
    this.#stopped = true;
    this.#observer?.disconnect();
    for (const card of this.#cards.values()) {
      card.reading.abort();
      card.chart?.destroy();
    }
    this.#cards.clear();
  }

  /**
   * Reads the whole series at the plot's width and draws it.
   * @param {ChartCard} card
   */
  async #load(card) {
    if (this.#stopped) return;
    const chart = card.chart ?? this.#makeChart(card);
    const width = chart.plotWidth;
    const signal = this.#newRead(card);
    try {
      const data = await readSeries(
        this.#hash,
        card.m.name,
        card.m.context,
        { points: width },
        { signal },
      );
      card.full = { points: toPoints(data), width, range: null };
      if (chart.zoomed === null) this.#draw(card);
    } catch (error) {
      if (signal.aborted) return;
      card.box.replaceChildren(h("p.empty", { text: errorText(error) }));
    }
  }

  /**
   * @param {ChartCard} card
   * @returns {LineChart}
   */
  #makeChart(card) {
    const chart = new LineChart(card.box, {
      height: 220,
      xKind: this.#axes.x,
      xStart: this.#axes.start,
      unit: card.unit,
      onZoom: (range) => this.#zoom(card, range).catch(_report),
      onResize: debounce(() => this.#resized(card), 200),
    });
    card.chart = chart;
    return chart;
  }

  /**
   * A new read for `card`: the one under way is aborted.
   * @param {ChartCard} card
   * @returns {AbortSignal}
   */
  #newRead(card) {
    card.reading.abort();
    card.reading = new AbortController();
    return card.reading.signal;
  }

  /**
   * Draws the finest points read for the chart's x range at its scale.
   * @param {ChartCard} card
   */
  #draw(card) {
    const chart = card.chart;
    if (!chart || !card.full) return;
    const zoom = chart.zoomed;
    const zoomed = card.zoomed;
    const read = zoom && zoomed?.range?.[0] === zoom[0] &&
        zoomed.range[1] === zoom[1]
      ? zoomed
      : card.full;
    const { x, start } = this.#axes;
    const [lo, hi] = zoom ?? xExtent(read.points, x, start) ?? [0, 0];
    const drawing = drawSeries(read.points, {
      x,
      log: false,
      smooth: 0,
      start,
      pxPerX: hi > lo ? chart.plotWidth / (hi - lo) : 0,
    });
    chart.setData(
      [chartLine(drawing, { color: COLOR, label: card.m.name, width: 1.5 })],
      { keepZoom: zoom !== null },
    );
    card.note.textContent = drawing.fine ? "" : "preview — refining…";
  }

  /**
   * @param {ChartCard} card
   * @param {[number, number] | null} range
   */
  async #zoom(card, range) {
    if (range === null) {
      // Back to the whole series, kept.
      card.reading.abort();
      card.zoomed = null;
      this.#draw(card);
      return;
    }
    this.#draw(card);
    const chart = /** @type {LineChart} */ (card.chart);
    if (card.full?.points.complete) return;
    const width = chart.plotWidth;
    const steps = this.#axes.x === "step"
      ? range
      : stepsCovering(card.full?.points ?? null, range, this.#axes.start);
    if (steps === null) return;
    const signal = this.#newRead(card);
    try {
      const data = await readSeries(
        this.#hash,
        card.m.name,
        card.m.context,
        { points: width, from: Math.floor(steps[0]), to: Math.ceil(steps[1]) },
        { signal },
      );
      card.zoomed = { points: toPoints(data), width, range };
      const now = chart.zoomed;
      if (!this.#stopped && now?.[0] === range[0] && now[1] === range[1]) {
        this.#draw(card);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /**
   * The plot's width changed: draw at the new scale, and read again when
   * the points drawn were read for a narrower plot.
   * @param {ChartCard} card
   */
  #resized(card) {
    const chart = card.chart;
    if (!chart || !card.full || this.#stopped) return;
    this.#draw(card);
    const zoom = chart.zoomed;
    const read = zoom ? card.zoomed : card.full;
    if (read && (read.points.complete || read.width >= chart.plotWidth)) return;
    if (zoom) this.#zoom(card, zoom).catch(_report);
    else this.#load(card);
  }
}

/**
 * The steps whose points cover the time range `range` (seconds from
 * `start`): from the last point at or before its start to the first at or
 * after its end, among the points read. A series' times grow with its
 * steps where aim run samples them; null when nothing was read.
 * @param {Points | null} points
 * @param {[number, number]} range
 * @param {number} start
 * @returns {[number, number] | null}
 */
function stepsCovering(points, range, start) {
  if (points === null || points.steps.length === 0) return null;
  const xs = xsOf(points, "time", start);
  const { steps } = points;
  let from = /** @type {number} */ (steps[0]);
  let to = /** @type {number} */ (steps[steps.length - 1]);
  for (let i = 0; i < xs.length; i++) {
    const x = /** @type {number} */ (xs[i]);
    const step = /** @type {number} */ (steps[i]);
    if (x <= range[0]) from = Math.max(from, step);
    if (x >= range[1]) to = Math.min(to, step);
  }
  return from <= to ? [from, to] : [to, from];
}

/** @param {unknown} error */
function _report(error) {
  toast(errorText(error), "error");
}
