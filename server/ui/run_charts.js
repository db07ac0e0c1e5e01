/// <reference lib="dom" />
// @ts-check
// The run page's charts: one per series, grouped by context, each read
// from the run when it scrolls into view; a drag zooms and re-reads the
// range.

import { readSeries } from "./api.js";
import { LineChart } from "./chart.js";
import { errorText, h, toast } from "./dom.js";
import { fmtContext, fmtNum, num } from "./format.js";
import { canonical } from "./params.js";

/** @import { Run, SeriesPoints, SeriesSummary } from "./api_types.js" */
/** @import { ChartLine } from "./chart.js" */

/** Buckets per chart. */
const CHART_POINTS = 500;
/** Buckets for a zoomed range. */
const ZOOM_POINTS = 1000;

/**
 * @typedef {object} ChartCard
 * @property {SeriesSummary} m  The series, as last seen.
 * @property {HTMLElement} box  Holds the chart.
 * @property {HTMLElement} last  Shows the last value.
 * @property {LineChart | null} chart  Made on the first read.
 * @property {boolean} loaded  Read at least once.
 */

/** The charts of some series of a run. */
export class RunCharts {
  #hash;
  /** @type {Map<Element, ChartCard>} */
  #cards = new Map();
  /** @type {IntersectionObserver | null} */
  #observer = null;
  #stopped = false;

  /**
   * Appends the charts of `series` to `content`, or `emptyText` when there
   * are none.
   * @param {HTMLElement} content
   * @param {string} hash  The run.
   * @param {SeriesSummary[]} series
   * @param {string} emptyText
   */
  constructor(content, hash, series, emptyText) {
    this.#hash = hash;
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
        this.#load(this.#cards.get(entry.target));
      }
    }, { rootMargin: "200px" });
    this.#observer = observer;
    const sorted = [...groups.values()].sort((a, b) =>
      canonical(a.context).localeCompare(canonical(b.context))
    );
    for (const { context, items } of sorted) {
      const grid = h("div.chart-grid");
      for (const m of items.sort((a, b) => a.name.localeCompare(b.name))) {
        const last = h("span.last", { text: `last ${fmtNum(m.last)}` });
        const box = h("div.chart-box");
        const card = h(
          "div.chart-card",
          { dataset: { series: m.name } },
          h("div.title", {}, h("span", { text: m.name }), last),
          box,
        );
        grid.append(card);
        this.#cards.set(card, { m, box, last, chart: null, loaded: false });
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
        card.last.textContent = `last ${fmtNum(m.last)}`;
      }
      if (card.loaded && card.chart?.zoomed === null) await this.#load(card);
    }
  }

  /** Removes the charts; reads under way are dropped. */
  destroy() {
    this.#stopped = true;
    this.#observer?.disconnect();
    for (const card of this.#cards.values()) card.chart?.destroy();
    this.#cards.clear();
  }

  /** @param {ChartCard | undefined} card */
  async #load(card) {
    if (!card || this.#stopped) return;
    try {
      const data = await readSeries(this.#hash, card.m.name, card.m.context, {
        points: CHART_POINTS,
      });
      if (this.#stopped) return;
      if (!card.chart) {
        card.chart = new LineChart(card.box, {
          height: 220,
          onZoom: (range) => this.#zoom(card, range),
        });
      }
      if (card.chart.zoomed === null) card.chart.setData([toLine(data)]);
      card.loaded = true;
    } catch (error) {
      card.box.replaceChildren(h("p.empty", { text: errorText(error) }));
    }
  }

  /**
   * @param {ChartCard} card
   * @param {[number, number] | null} range
   */
  async #zoom(card, range) {
    try {
      if (range === null) return await this.#load(card);
      const data = await readSeries(this.#hash, card.m.name, card.m.context, {
        points: ZOOM_POINTS,
        from: Math.floor(range[0]),
        to: Math.ceil(range[1]),
      });
      if (!this.#stopped && card.chart?.zoomed) {
        card.chart.setData([toLine(data)], [], { keepZoom: true });
      }
    } catch (error) {
      toast(errorText(error), "error");
    }
  }
}

/**
 * A series as the chart's line, by step; non-finite values are gaps.
 * @param {SeriesPoints} data
 * @returns {ChartLine}
 */
function toLine(data) {
  return {
    xs: data.steps,
    ys: data.values.map((v) => {
      const n = num(v);
      return n === null || !Number.isFinite(n) ? null : n;
    }),
    color: "#2f6fde",
    label: data.name,
    width: 1.5,
  };
}
