// @ts-check
// The explorer's lines: one per (run, series) found, with the points read
// for the overview and for the zoomed range, projected onto the chosen x
// axis. Pure: no DOM, so `deno test` imports it.

import { epochSeconds, num } from "./format.js";
import { canonical } from "./params.js";
import { ema } from "./series_math.js";

/** @import { Run, SeriesMatch, SeriesPage, SeriesPoints, SeriesSummary } from "./api_types.js" */
/** @import { XKind } from "./chart.js" */

/**
 * One (run, series) of the explorer.
 * @typedef {object} Line
 * @property {string} key  Identifies the (run, series): see {@link lineKey}.
 * @property {Run} run
 * @property {SeriesSummary} series
 * @property {SeriesPoints} data  The overview's points.
 * @property {SeriesPoints | null} zoomed  Points read for the zoomed range.
 */

/**
 * How lines are projected: x axis, log scale, smoothing.
 * @typedef {object} Projection
 * @property {XKind} x
 * @property {boolean} log  Values ≤ 0 become gaps.
 * @property {number} smooth  EMA weight; 0 for none.
 */

/**
 * The key of a (run, series) match: run hash, series name and canonical
 * context, joined by NUL.
 * @param {Pick<SeriesMatch, "run" | "series">} match
 * @returns {string}
 */
export function lineKey(match) {
  return `${match.run.hash}\u0000${match.series.name}\u0000${
    canonical(match.series.context)
  }`;
}

/**
 * The lines of a page of the series search, and how many of its matches
 * came without points (an unreadable run file).
 * @param {SeriesPage} page
 * @returns {{ lines: Line[], failed: number }}
 */
export function linesOf(page) {
  /** @type {Line[]} */
  const lines = [];
  let failed = 0;
  for (const item of page.series) {
    if (item.error || !item.data) {
      failed++;
      continue;
    }
    lines.push({
      key: lineKey(item),
      run: item.run,
      series: item.series,
      data: item.data,
      zoomed: null,
    });
  }
  return { lines, failed };
}

/**
 * A line's points on the chosen x axis (zoomed points when it has them),
 * smoothed. Points without that x (no epoch logged; no time in an index
 * preview) are left out; non-finite values, and values ≤ 0 on a log scale,
 * become gaps (null). Time is in seconds from the run's creation.
 * @param {Pick<Line, "run" | "data" | "zoomed">} line
 * @param {Projection} view
 * @returns {{ xs: number[], ys: (number | null)[] }}
 */
export function project(line, view) {
  const data = line.zoomed ?? line.data;
  const n = data.values.length;
  /** @type {number[]} */
  const xs = [];
  /** @type {(number | null)[]} */
  const ys = [];
  const start = epochSeconds(line.run.created_at) ?? 0;
  for (let i = 0; i < n; i++) {
    /** @type {number | null | undefined} */
    let x;
    if (view.x === "epoch") x = data.epochs?.[i];
    else if (view.x === "time") {
      const time = data.times?.[i];
      x = time === undefined ? undefined : time - start;
    } else x = data.steps[i];
    if (x === null || x === undefined) continue;
    const v = num(data.values[i]);
    xs.push(x);
    ys.push(
      v === null || !Number.isFinite(v) || (view.log && v <= 0) ? null : v,
    );
  }
  return { xs, ys: view.smooth > 0 ? ema(ys, view.smooth) : ys };
}

/**
 * The step range to read again for a line zoomed to the x range
 * `[lo, hi]`: the range itself on a step axis; else the steps of the
 * overview's points inside it, with one point of margin each side. Null
 * when no point falls inside.
 * @param {Pick<Line, "run" | "data">} line
 * @param {[number, number]} range
 * @param {Projection} view
 * @returns {[number | undefined, number | undefined] | null}
 */
export function stepRange(line, [lo, hi], view) {
  if (view.x === "step") return [Math.floor(lo), Math.ceil(hi)];
  const steps = line.data.steps;
  const { xs } = project({ ...line, zoomed: null }, view);
  let first = -1, last = -1;
  xs.forEach((x, i) => {
    if (x >= lo && first < 0) first = i;
    if (x <= hi) last = i;
  });
  if (first < 0 || last < 0) return null;
  return [
    steps[Math.max(0, first - 1)],
    steps[Math.min(steps.length - 1, last + 1)],
  ];
}
