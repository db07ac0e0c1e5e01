// @ts-check
// The explorer's lines: one per (run, series) found, with the points read
// for it (the index preview, the whole series at pixel resolution, the
// zoomed range at pixel resolution), which of them to draw, and whether a
// read would draw it finer. Pure: no DOM, so `deno test` imports it.

import { canonical } from "./params.js";
import { startOf, toPoints, xsOf } from "./series_draw.js";

/** @import { BinarySeriesPage, Run, SeriesMatch, SeriesSummary } from "./api_types.js" */
/** @import { Points, Projection } from "./series_draw.js" */

/**
 * Points read for a line at a plot's width.
 * @typedef {object} Read
 * @property {Points} points
 * @property {number} width  Buckets asked for: the plot's width then.
 * @property {[number, number] | null} range  The zoomed x range read; null
 *   for the whole series.
 */

/**
 * One (run, series) of the explorer.
 * @typedef {object} Line
 * @property {string} key  Identifies the (run, series): see {@link lineKey}.
 * @property {number} index  Its place in the search's order, which tells the
 *   page to read it again with.
 * @property {Run} run
 * @property {SeriesSummary} series
 * @property {Points} preview  From the index: steps and values only.
 * @property {Read | null} full  The whole series at pixel resolution.
 * @property {Read | null} zoomed  The zoomed range at pixel resolution.
 * @property {boolean} stale  The run has newer data than `full`.
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
 * The lines of a page of the series search (index previews) that starts
 * at `offset`, and how many of its matches came without points (an
 * unreadable run file).
 * @param {BinarySeriesPage} page
 * @param {number} offset
 * @returns {{ lines: Line[], failed: number }}
 */
export function linesOf(page, offset) {
  /** @type {Line[]} */
  const lines = [];
  let failed = 0;
  page.series.forEach((item, i) => {
    if (item.error || !item.data) {
      failed++;
      return;
    }
    lines.push({
      key: lineKey(item),
      index: offset + i,
      run: item.run,
      series: item.series,
      preview: toPoints(item.data, item.series.count),
      full: null,
      zoomed: null,
      stale: false,
    });
  });
  return { lines, failed };
}

/**
 * The x column a view needs besides steps and values, if any.
 * @param {Projection} view
 * @returns {"epochs" | "times" | null}
 */
export function axisColumn(view) {
  return view.x === "epoch" ? "epochs" : view.x === "time" ? "times" : null;
}

/**
 * Whether points carry the x values of a view.
 * @param {Points} points
 * @param {Projection} view
 * @returns {boolean}
 */
function _hasAxis(points, view) {
  const column = axisColumn(view);
  return column === null || points[column] !== null;
}

/**
 * Whether `read` is of the zoomed range `zoom` (null: the whole series).
 * @param {Read} read
 * @param {[number, number] | null} zoom
 * @returns {boolean}
 */
function _covers(read, zoom) {
  const range = read.range;
  return zoom === null
    ? range === null
    : range !== null && range[0] === zoom[0] && range[1] === zoom[1];
}

/**
 * The points to draw a line with in a view, zoomed to `zoom` or not: the
 * finest read that has the axis's x values (the zoomed range's, else the
 * whole series', else the preview), or null when none has them.
 * @param {Line} line
 * @param {Projection} view
 * @param {[number, number] | null} zoom
 * @returns {Points | null}
 */
export function pointsFor(line, view, zoom) {
  const zoomed = line.zoomed;
  if (
    zoom && zoomed && _covers(zoomed, zoom) && _hasAxis(zoomed.points, view)
  ) {
    return zoomed.points;
  }
  if (line.full && _hasAxis(line.full.points, view)) return line.full.points;
  return _hasAxis(line.preview, view) ? line.preview : null;
}

/**
 * Whether a line should be read again to be drawn at pixel resolution on a
 * plot `width` pixels wide: it has no read of this range with this axis's
 * x values at that width (or its run moved on), and the points it has are
 * not already every point of the series.
 * @param {Line} line
 * @param {Projection} view
 * @param {[number, number] | null} zoom
 * @param {number} width
 * @returns {boolean}
 */
export function needsRead(line, view, zoom, width) {
  const full = line.full;
  if (
    full && full.points.complete && !line.stale && _hasAxis(full.points, view)
  ) {
    return false;
  }
  const read = zoom ? line.zoomed : full;
  if (read === null || !_covers(read, zoom)) return true;
  if (!zoom && line.stale) return true;
  return read.width < width || !_hasAxis(read.points, view);
}

/**
 * The step range to read for a line zoomed to the x range `[lo, hi]`: the
 * range itself on a step axis; else the steps of the points drawn now
 * inside it, with one point of margin each side. Null when no point falls
 * inside.
 * @param {Line} line
 * @param {[number, number]} range
 * @param {Projection} view
 * @returns {[number, number] | null}
 */
export function stepRange(line, [lo, hi], view) {
  if (view.x === "step") return [Math.floor(lo), Math.ceil(hi)];
  const points = pointsFor(line, view, null);
  if (points === null) return null;
  const steps = points.steps;
  const xs = xsOf(points, view.x, startOf(line.run.created_at));
  let first = -1, last = -1;
  for (let i = 0; i < xs.length; i++) {
    const x = /** @type {number} */ (xs[i]);
    if (Number.isNaN(x)) continue;
    if (x >= lo && first < 0) first = i;
    if (x <= hi) last = i;
  }
  if (first < 0 || last < first) return null;
  return [
    /** @type {number} */ (steps[Math.max(0, first - 1)]),
    /** @type {number} */ (steps[Math.min(steps.length - 1, last + 1)]),
  ];
}
