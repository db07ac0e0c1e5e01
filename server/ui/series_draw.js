// @ts-check
// The drawing contract shared by the explorer and the run page: how a
// series' points, chosen by the server as `raw`, `buckets` or `preview`
// (see Resolution in api_types.js), become what the chart draws, so that a
// chart never invents shape (docs/ARCHITECTURE.md, "Series reads").
//
// - Buckets at most FINE_PX CSS pixels wide (or points that are every point
//   there is) are drawn as a line through the points in step order: at
//   that width first/min/max/last per bucket is what the raw points would
//   draw.
// - Wider buckets are drawn as what they are: a min–max envelope per
//   bucket, and a dashed line through each bucket's last point, marked as a
//   preview until finer points arrive. Joining a coarse bucket's low and
//   high points in step order would draw a sawtooth the data does not have.
// - On a log scale values ≤ 0 cannot be placed: a line has a gap there, and
//   an envelope or band is clipped at the plot's lower edge (-Infinity),
//   which the chart marks.
// - A group's mean and band are computed from the members' bucket last
//   points and bucket extents, so a spike in one member widens the min–max
//   band wherever it is, and a coarse member makes the mean a preview.
//
// Pure: no DOM, so `deno test` imports it.

import { epochSeconds, num } from "./format.js";
import { ema, interpolate } from "./series_math.js";

/** @import { BinarySeriesPoints, Resolution, SeriesPoints } from "./api_types.js" */

/**
 * Buckets at most this many CSS pixels wide are drawn as a line; the
 * server's buckets for a plot `w` pixels wide asked at `w` points are 1 to
 * 2 pixels wide.
 */
export const FINE_PX = 2;

/**
 * What the x values are: steps, epochs, or seconds (shown as durations).
 * @typedef {"step" | "epoch" | "time"} XKind
 */

/**
 * A series' points as the charts keep them: parallel arrays in step order.
 * @typedef {object} Points
 * @property {ArrayLike<number>} steps
 * @property {ArrayLike<number>} values  NaN and ±Infinity as they are.
 * @property {ArrayLike<number> | null} epochs  NaN where none was tracked;
 *   null when not read (an index preview, or a read without that column).
 * @property {ArrayLike<number> | null} times  Seconds since the epoch; null when not read.
 * @property {Resolution} resolution
 * @property {boolean} complete  Every point of the series (in the range
 *   read) is here, whatever the resolution says.
 */

/**
 * Buckets' x spans and value ranges, each aligned with a point of the line
 * it belongs to. `lo` is -Infinity where it is clipped at the plot's lower
 * edge (values ≤ 0 on a log scale); null on both marks a gap.
 * @typedef {object} Band
 * @property {number[]} x0
 * @property {number[]} x1
 * @property {(number | null)[]} lo
 * @property {(number | null)[]} hi
 */

/**
 * What the chart draws for one line, in the x units of the axis.
 * @typedef {object} ChartLine
 * @property {number[]} xs  Ascending.
 * @property {(number | null)[]} ys  Null for a gap.
 * @property {string} color  `#rrggbb`.
 * @property {string} label
 * @property {number} [width]  Pixels; default 1.
 * @property {Band | null} [band]  Filled translucent beneath the lines, in
 *   the line's colour: a coarse line's envelope, a group's spread.
 * @property {boolean} [coarse]  Drawn from buckets wider than
 *   {@link FINE_PX}: a preview, dashed.
 * @property {boolean} [hidden]  Left out of the hover list.
 * @property {number[]} [dash]  A dash pattern in CSS pixels ([] solid) that
 *   the line is drawn with, coarse or not; by default solid, or dashed
 *   when coarse.
 */

/**
 * How lines are projected: x axis, log scale, smoothing.
 * @typedef {object} Projection
 * @property {XKind} x
 * @property {boolean} log  Values ≤ 0 cannot be drawn.
 * @property {number} smooth  EMA weight; 0 for none.
 */

/**
 * A series drawn on an axis: a line through every point (fine) or through
 * each bucket's last point with each bucket's envelope (coarse).
 * @typedef {object} Drawing
 * @property {boolean} fine  Buckets at most {@link FINE_PX} wide, or every point.
 * @property {number} bucketPx  Width of a bucket in CSS pixels (0 for every point).
 * @property {number[]} xs  The line to draw: every point when fine, else
 *   each bucket's last point.
 * @property {(number | null)[]} ys
 * @property {number[]} repXs  Each bucket's last point: what a mean averages.
 * @property {(number | null)[]} repYs
 * @property {Band} band  Each bucket's envelope, aligned with `repXs`.
 * @property {number} clipped  Values ≤ 0 that a log scale cannot show.
 */

/**
 * The points of a series as the API sent them (JSON, or binary columns),
 * as the charts keep them. `count` is the series' count of points, which
 * tells when an index preview holds all of them.
 * @param {SeriesPoints | BinarySeriesPoints} data
 * @param {number} [count]
 * @returns {Points}
 */
export function toPoints(data, count) {
  const steps = data.steps ?? new Float64Array(0);
  const n = steps.length;
  /** @param {ArrayLike<unknown> | undefined} column */
  const floats = (column) => {
    if (column === undefined) return null;
    if (column instanceof Float64Array) return column;
    const out = new Float64Array(column.length);
    for (let i = 0; i < column.length; i++) out[i] = num(column[i]) ?? NaN;
    return out;
  };
  const total = data.total;
  const resolution = data.resolution;
  return {
    steps,
    values: floats(data.values) ?? new Float64Array(n),
    epochs: floats(data.epochs),
    times: data.times ?? null,
    resolution,
    complete: resolution.kind === "raw" ||
      (total !== undefined && n >= total) ||
      (resolution.kind === "preview" && count !== undefined && n >= count),
  };
}

/**
 * The x of each point on an axis: its step, its epoch, or its time in
 * seconds from `start`; NaN where it has none (or the column was not read).
 * @param {Points} points
 * @param {XKind} x
 * @param {number} start  Seconds since the epoch, for a time axis.
 * @returns {ArrayLike<number>}
 */
export function xsOf(points, x, start) {
  if (x === "step") return points.steps;
  const n = points.steps.length;
  const column = x === "epoch" ? points.epochs : points.times;
  if (column === null) return new Float64Array(n).fill(NaN);
  if (x === "epoch") return column;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = /** @type {number} */ (column[i]) - start;
  }
  return out;
}

/**
 * The x range a series covers on an axis, or null when no point has an x.
 * @param {Points} points
 * @param {XKind} x
 * @param {number} start  As for {@link xsOf}.
 * @returns {[number, number] | null}
 */
export function xExtent(points, x, start) {
  const xs = xsOf(points, x, start);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const v = /** @type {number} */ (xs[i]);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * Seconds since the epoch of a run's creation (ISO time), for a time axis.
 * @param {string} createdAt
 * @returns {number}
 */
export function startOf(createdAt) {
  return epochSeconds(createdAt) ?? 0;
}

/**
 * How a series is drawn at `pxPerX` CSS pixels per x unit: the contract
 * described at the top of this module. Points without an x on this axis
 * are left out; NaN and ±Infinity are gaps, as are values ≤ 0 on a log
 * scale (counted in `clipped`, and clipped at the lower edge in the
 * envelope). Smoothing applies to the lines, not to the envelope.
 *
 * With `range` (the x range a zoomed plot shows) only whole buckets are
 * drawn, from that of the last point before the range to that of the first
 * point after it: the same lines and envelopes the whole drawing has there,
 * without drawing the rest of a long series that the plot cuts off. A
 * smoothed line is drawn whole, as its average depends on every point
 * before.
 * @param {Points} points
 * @param {Projection & { start: number, pxPerX: number, range?: [number, number] | null }} view
 *   `start`: seconds since the epoch that a time axis counts from.
 * @returns {Drawing}
 */
export function drawSeries(points, view) {
  const allXs = xsOf(points, view.x, view.start);
  const { steps, values } = points;
  const { width, origin } = points.resolution;
  const bucketWidth = Math.max(1, width);
  const [from, to] = view.range && !(view.smooth > 0)
    ? _window(allXs, steps, origin, bucketWidth, view.range)
    : [0, allXs.length];
  const log = view.log;
  /** @param {number} v */
  const drawable = (v) => Number.isFinite(v) && (!log || v > 0);

  /** @type {number[]} */ const xs = [];
  /** @type {(number | null)[]} */ const ys = [];
  /** @type {number[]} */ const repXs = [];
  /** @type {(number | null)[]} */ const repYs = [];
  /** @type {Band} */
  const band = { x0: [], x1: [], lo: [], hi: [] };
  let clipped = 0;
  let firstStep = NaN, lastStep = NaN, firstX = NaN, lastX = NaN;
  for (let i = 0; i < allXs.length; i++) {
    if (Number.isNaN(allXs[i])) continue;
    if (Number.isNaN(firstStep)) {
      firstStep = /** @type {number} */ (steps[i]);
      firstX = /** @type {number} */ (allXs[i]);
    }
    lastStep = /** @type {number} */ (steps[i]);
    lastX = /** @type {number} */ (allXs[i]);
  }

  // A preview keeps no bucket's first point, but its first bucket starts
  // at the series' first step; other reads keep each bucket's first point.
  const fromStep = points.resolution.kind === "preview"
    ? Math.min(firstStep, origin)
    : firstStep;

  // One pass over the points in step order, a bucket at a time.
  let bucket = NaN, bx0 = 0, lo = Infinity, hi = -Infinity, low = false;
  let lastBx = 0, lastV = NaN;
  const closeBucket = () => {
    if (Number.isNaN(bucket)) return;
    const start = origin + bucket * bucketWidth;
    band.x0.push(
      view.x === "step" ? Math.max(start, fromStep) : bx0,
    );
    band.x1.push(
      view.x === "step" ? Math.min(start + bucketWidth - 1, lastStep) : lastBx,
    );
    const any = lo <= hi;
    band.lo.push(low ? -Infinity : any ? lo : null);
    band.hi.push(any ? hi : low ? -Infinity : null);
    repXs.push(lastBx);
    repYs.push(drawable(lastV) ? lastV : null);
  };
  for (let i = from; i < to; i++) {
    const x = /** @type {number} */ (allXs[i]);
    if (Number.isNaN(x)) continue;
    const step = /** @type {number} */ (steps[i]);
    const v = /** @type {number} */ (values[i]);
    const k = Math.floor((step - origin) / bucketWidth);
    if (k !== bucket) {
      closeBucket();
      bucket = k;
      bx0 = x;
      lo = Infinity;
      hi = -Infinity;
      low = false;
    }
    if (Number.isFinite(v)) {
      if (log && v <= 0) {
        low = true;
        clipped++;
      } else {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    lastBx = x;
    lastV = v;
    xs.push(x);
    ys.push(drawable(v) ? v : null);
  }
  closeBucket();

  const stepSpan = lastStep - firstStep;
  const pxPerStep = stepSpan > 0
    ? view.pxPerX * (lastX - firstX) / stepSpan
    : 0;
  const bucketPx = points.complete ? 0 : bucketWidth * Math.abs(pxPerStep);
  const fine = bucketPx <= FINE_PX;
  /** @param {(number | null)[]} line */
  const smoothed = (line) => view.smooth > 0 ? ema(line, view.smooth) : line;
  const reps = smoothed(repYs);
  return {
    fine,
    bucketPx,
    xs: fine ? xs : repXs,
    ys: fine ? smoothed(ys) : reps,
    repXs,
    repYs: reps,
    band,
    clipped,
  };
}

/**
 * The points (by index, `from` inclusive, `to` exclusive) that draw the x
 * range `[lo, hi]`: every point inside it, the nearest one each side (the
 * line enters and leaves the plot through its edges), and the rest of
 * their buckets, so that each envelope drawn holds its whole bucket. The
 * points are in step order, so a bucket's points are next to each other;
 * their x need not be (epochs, times).
 * @param {ArrayLike<number>} xs
 * @param {ArrayLike<number>} steps
 * @param {number} origin
 * @param {number} width  Of a bucket, in steps.
 * @param {[number, number]} range
 * @returns {[number, number]}
 */
function _window(xs, steps, origin, width, [lo, hi]) {
  const n = xs.length;
  let first = n, last = -1;
  for (let i = 0; i < n; i++) {
    if (/** @type {number} */ (xs[i]) >= lo) {
      first = i;
      break;
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    if (/** @type {number} */ (xs[i]) <= hi) {
      last = i;
      break;
    }
  }
  let from = Math.max(0, first - 1), to = Math.min(n - 1, last + 1);
  if (from > to) return [0, 0];
  /** @param {number} i */
  const bucket = (i) =>
    Math.floor((/** @type {number} */ (steps[i]) - origin) / width);
  const b0 = bucket(from), b1 = bucket(to);
  while (from > 0 && bucket(from - 1) === b0) from--;
  while (to < n - 1 && bucket(to + 1) === b1) to++;
  return [from, to + 1];
}

/**
 * The chart's line for a drawing: the line alone when fine, else the line
 * through the buckets' last points over their envelope, marked coarse.
 * @param {Drawing} drawing
 * @param {{ color: string, label: string, width?: number }} style
 * @returns {ChartLine}
 */
export function chartLine(drawing, style) {
  return {
    ...style,
    xs: drawing.xs,
    ys: drawing.ys,
    band: drawing.fine ? null : drawing.band,
    coarse: !drawing.fine,
  };
}

/**
 * The median of `values` (not empty); sorts them.
 * @param {number[]} values
 * @returns {number}
 */
function median(values) {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1
    ? /** @type {number} */ (values[mid])
    : (/** @type {number} */ (values[mid - 1]) +
      /** @type {number} */ (values[mid])) / 2;
}

/**
 * A group's mean and band, drawn honestly from its members' drawings: on
 * `cells` x cells spanning every member, the mean (and standard deviation)
 * of the members' bucket last points, interpolated inside each member's own
 * x range, and for "minmax" the lowest and highest value of any member's
 * buckets overlapping the cell (so a spike widens the band where it is).
 * "median" draws the members' median instead of their mean, with the
 * min–max band. Coarse when a member is. Null when no member has a point.
 * @param {readonly Drawing[]} members
 * @param {{ kind: "minmax" | "std" | "median", cells: number, log: boolean }} options
 * @returns {Drawing | null}
 */
export function drawGroup(members, { kind, cells, log }) {
  let min = Infinity, max = -Infinity;
  for (const m of members) {
    const n = m.band.x0.length;
    if (n === 0) continue;
    min = Math.min(min, /** @type {number} */ (m.band.x0[0]));
    max = Math.max(max, /** @type {number} */ (m.band.x1[n - 1]));
  }
  if (min === Infinity) return null;
  const n = min === max ? 1 : Math.max(2, Math.floor(cells));
  const step = n === 1 ? 0 : (max - min) / (n - 1);
  /** @param {number} x */
  const cellOf = (x) =>
    n === 1 ? 0 : Math.min(n - 1, Math.max(0, Math.round((x - min) / step)));
  const sum = new Float64Array(n), squares = new Float64Array(n);
  const count = new Float64Array(n);
  const lo = new Float64Array(n).fill(Infinity);
  const hi = new Float64Array(n).fill(-Infinity);
  /** @type {number[][]} Every member's value in each cell, for a median. */
  const values = kind === "median" ? Array.from({ length: n }, () => []) : [];
  let fine = true, clipped = 0;
  for (const m of members) {
    fine &&= m.fine;
    clipped += m.clipped;
    const { repXs, repYs, band } = m;
    const first = repXs[0], last = repXs[repXs.length - 1];
    if (first !== undefined && last !== undefined) {
      let j = 0;
      for (let c = cellOf(first); c <= cellOf(last); c++) {
        const x = min + c * step;
        if (x < first || x > last) continue;
        while (
          j < repXs.length - 2 && /** @type {number} */ (repXs[j + 1]) < x
        ) j++;
        const v = interpolate(repXs, repYs, j, x);
        if (v === null) continue;
        sum[c] = /** @type {number} */ (sum[c]) + v;
        squares[c] = /** @type {number} */ (squares[c]) + v * v;
        count[c] = /** @type {number} */ (count[c]) + 1;
        values[c]?.push(v);
        if (v < /** @type {number} */ (lo[c])) lo[c] = v;
        if (v > /** @type {number} */ (hi[c])) hi[c] = v;
      }
    }
    if (kind === "std") continue;
    for (let b = 0; b < band.x0.length; b++) {
      const bl = band.lo[b], bh = band.hi[b];
      if (bl === null || bh === null || bl === undefined || bh === undefined) {
        continue;
      }
      const c1 = cellOf(/** @type {number} */ (band.x1[b]));
      for (let c = cellOf(/** @type {number} */ (band.x0[b])); c <= c1; c++) {
        if (bl < /** @type {number} */ (lo[c])) lo[c] = bl;
        if (bh > /** @type {number} */ (hi[c])) hi[c] = bh;
      }
    }
  }
  /** @type {number[]} */ const xs = [];
  /** @type {(number | null)[]} */ const ys = [];
  /** @type {Band} */
  const out = { x0: [], x1: [], lo: [], hi: [] };
  for (let c = 0; c < n; c++) {
    const k = /** @type {number} */ (count[c]);
    const cl = /** @type {number} */ (lo[c]),
      ch = /** @type {number} */ (hi[c]);
    if (k === 0 && !(cl <= ch)) continue;
    const x = min + c * step;
    const mean = k === 0
      ? null
      : kind === "median"
      ? median(/** @type {number[]} */ (values[c]))
      : /** @type {number} */ (sum[c]) / k;
    xs.push(x);
    ys.push(mean);
    out.x0.push(x);
    out.x1.push(x);
    if (kind === "std" && mean !== null) {
      const sd = Math.sqrt(
        Math.max(0, /** @type {number} */ (squares[c]) / k - mean * mean),
      );
      const bottom = mean - sd;
      out.lo.push(log && bottom <= 0 ? -Infinity : bottom);
      out.hi.push(mean + sd);
    } else {
      out.lo.push(cl <= ch ? cl : null);
      out.hi.push(cl <= ch ? ch : null);
    }
  }
  return {
    fine,
    bucketPx: fine ? 0 : Infinity,
    xs,
    ys,
    repXs: xs,
    repYs: ys,
    band: out,
    clipped,
  };
}
