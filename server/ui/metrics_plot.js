// @ts-check
// What the explorer's chart draws: lines grouped by an attribute or a
// param, a colour per group, and per group either every line or their
// mean with a band, each drawn by the drawing contract (series_draw.js) at
// the plot's scale. Pure: no DOM, so `deno test` imports it.

import { paletteColor } from "./colors.js";
import { fmtContext, fmtValue } from "./format.js";
import { pointsFor } from "./metrics_lines.js";
import { at, compareValues } from "./params.js";
import {
  chartLine,
  drawGroup,
  drawSeries,
  startOf,
  xExtent,
} from "./series_draw.js";

/** @import { Line } from "./metrics_lines.js" */
/** @import { AggKind } from "./metrics_state.js" */
/** @import { ChartLine, Drawing, Points, Projection } from "./series_draw.js" */

/**
 * Lines that share a colour and a legend entry: those of one group value,
 * or a single line when nothing groups them.
 * @typedef {object} Group
 * @property {string} key  The group value, or the line's key.
 * @property {string} label
 * @property {Line[]} members
 * @property {Line} line  The first member.
 * @property {string} color
 */

/**
 * How to draw.
 * @typedef {object} PlotOptions
 * @property {string} group  As in the explorer's settings; "" for none.
 * @property {AggKind} agg
 * @property {ReadonlySet<string>} hidden  Keys of groups not to draw.
 * @property {boolean} contextChosen  One context is chosen: labels leave it out.
 * @property {Projection} view
 * @property {[number, number] | null} zoom  The zoomed x range, if any.
 * @property {number} width  The plot's width in CSS pixels.
 * @property {Map<string, string>} [colors]  Colours by {@link colorKey},
 *   for lines charted on several charts; by default a colour per group in
 *   the order of the groups.
 * @property {boolean} [metricNamed]  Labels name the metric (several charts).
 */

/**
 * What the chart gets, and what it says about the lines drawn.
 * @typedef {object} Plan
 * @property {Group[]} groups
 * @property {ChartLine[]} lines
 * @property {number} coarse  Lines (or means) drawn from buckets too wide: a preview.
 * @property {number} clipped  Values ≤ 0 a log scale cannot show.
 */

/**
 * The group value of a line as text, or null when not grouping. A param
 * the run lacks is "(missing)"; a run without experiment "(none)".
 * @param {Line} line
 * @param {string} group
 * @returns {string | null}
 */
export function groupOf(line, group) {
  if (!group) return null;
  if (group === "attr:experiment") return line.run.experiment || "(none)";
  if (group === "attr:status") return line.run.status;
  if (group === "attr:context") return fmtContext(line.series.context);
  if (group.startsWith("param:")) {
    const value = at(line.run.params, group.slice(6).split("."));
    return value === undefined ? "(missing)" : fmtValue(value);
  }
  return null;
}

/**
 * What a line's colour follows on every chart: its group, or its run when
 * not grouping.
 * @param {Line} line
 * @param {string} group
 * @returns {string}
 */
export function colorKey(line, group) {
  return groupOf(line, group) ?? line.run.hash;
}

/**
 * A colour for each {@link colorKey} of `lines`: the palette's, in the
 * order of the group values when grouping, else in the lines' order.
 * @param {Line[]} lines
 * @param {string} group
 * @returns {Map<string, string>}
 */
export function colorsOf(lines, group) {
  const keys = [...new Set(lines.map((line) => colorKey(line, group)))];
  if (group) keys.sort(compareValues);
  return new Map(keys.map((key, i) => [key, paletteColor(i)]));
}

/**
 * A grouping's name without its kind: "hparams.lr" for "param:hparams.lr".
 * @param {string} group
 * @returns {string}
 */
export function groupTitle(group) {
  return group.replace(/^\w+:/, "");
}

/**
 * A line's label: the run's name (or short hash), and its context unless
 * one context is chosen.
 * @param {Line} line
 * @param {boolean} contextChosen
 * @param {boolean} [metricNamed]  The metric's name follows the run's.
 * @returns {string}
 */
export function lineLabel(line, contextChosen, metricNamed = false) {
  const run = line.run.name || line.run.hash.slice(0, 8);
  const name = metricNamed ? `${run} ${line.series.name}` : run;
  return contextChosen ? name : `${name} ${fmtContext(line.series.context)}`;
}

/**
 * The groups of `lines` (in order of group value when grouping, else in the
 * lines' order) with their colours, and the chart's lines, each drawn at
 * the scale the plot will have.
 * @param {Line[]} lines
 * @param {PlotOptions} options
 * @returns {Plan}
 */
export function planChart(lines, options) {
  const { group, agg, hidden, view, width, colors } = options;
  const metricNamed = options.metricNamed ?? false;
  /** @param {Line} line */
  const label = (line) => lineLabel(line, options.contextChosen, metricNamed);
  /** @type {Map<string, Group>} */
  const byKey = new Map();
  for (const line of lines) {
    const value = groupOf(line, group);
    const key = value ?? line.key;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = {
        key,
        label: value ?? label(line),
        members: [],
        line,
        color: "",
      };
      byKey.set(key, entry);
    }
    entry.members.push(line);
  }
  const groups = [...byKey.values()];
  if (group) groups.sort((a, b) => compareValues(a.label, b.label));
  groups.forEach((g, i) =>
    g.color = colors?.get(colorKey(g.line, group)) ?? paletteColor(i)
  );

  // A mean without grouping is over every line, whatever the legend hides.
  const meanOfAll = agg !== "" && !group;
  const drawn = meanOfAll
    ? lines
    : groups.flatMap((g) => hidden.has(g.key) ? [] : g.members);
  const drawings = _draw(drawn, options);
  const plan = {
    groups,
    lines: /** @type {ChartLine[]} */ ([]),
    coarse: 0,
    clipped: 0,
  };
  /**
   * @param {Drawing} drawing
   * @param {ChartLine} chart
   */
  const add = (drawing, chart) => {
    plan.lines.push(chart);
    if (chart.coarse) plan.coarse++;
    plan.clipped += drawing.clipped;
  };
  if (agg !== "") {
    const sets = meanOfAll
      ? [{
        members: lines,
        color: paletteColor(0),
        label: `${agg === "median" ? "median" : "mean"} of ${lines.length}`,
      }]
      : groups.filter((g) => !hidden.has(g.key)).map((g) => ({
        members: g.members,
        color: g.color,
        label: `${g.label} (${
          agg === "median" ? "median" : "mean"
        } of ${g.members.length})`,
      }));
    for (const set of sets) {
      const members = set.members.flatMap((line) => {
        const d = drawings.get(line);
        return d ? [d] : [];
      });
      const mean = drawGroup(members, {
        kind: agg,
        cells: Math.max(1, width / 2),
        log: view.log,
      });
      if (mean === null) continue;
      add(mean, {
        xs: mean.xs,
        ys: mean.ys,
        color: set.color,
        width: 2,
        label: set.label,
        band: mean.band,
        coarse: !mean.fine,
      });
    }
    if (plan.lines.length > 0) return plan;
  }
  for (const g of groups) {
    if (hidden.has(g.key)) continue;
    for (const line of g.members) {
      const drawing = drawings.get(line);
      if (drawing === undefined) continue;
      add(
        drawing,
        chartLine(drawing, {
          color: g.color,
          width: 1,
          label: group ? `${label(line)} · ${g.label}` : label(line),
        }),
      );
    }
  }
  return plan;
}

/**
 * Each line's drawing at the scale of the plot: the zoomed range, or the x
 * range of every line, across `width` pixels. Zoomed, only the buckets
 * around the range are drawn: until the range is read, the whole series
 * kept is drawn at the new scale, and most of it is off the plot. Lines
 * without points on this axis are left out.
 * @param {Line[]} lines
 * @param {PlotOptions} options
 * @returns {Map<Line, Drawing>}
 */
function _draw(lines, { view, zoom, width }) {
  /** @type {[Line, Points, number][]} */
  const found = [];
  let lo = Infinity, hi = -Infinity;
  for (const line of lines) {
    const points = pointsFor(line, view, zoom);
    if (points === null) continue;
    const start = startOf(line.run.created_at);
    found.push([line, points, start]);
    if (zoom) continue;
    const extent = _extentOf(points, view.x, start);
    if (extent === null) continue;
    lo = Math.min(lo, extent[0]);
    hi = Math.max(hi, extent[1]);
  }
  if (zoom) [lo, hi] = zoom;
  const pxPerX = hi > lo ? width / (hi - lo) : 0;
  /** @type {Map<Line, Drawing>} */
  const drawings = new Map();
  for (const [line, points, start] of found) {
    const key =
      `${view.x} ${view.log} ${view.smooth} ${start} ${pxPerX} ${zoom}`;
    let cached = _drawn.get(points);
    if (cached?.key !== key) {
      cached = {
        key,
        drawing: drawSeries(points, { ...view, start, pxPerX, range: zoom }),
      };
      _drawn.set(points, cached);
    }
    drawings.set(line, cached.drawing);
  }
  return drawings;
}

/**
 * The x range of points on an axis, kept with the points: every plan of
 * the whole series needs every line's, and a line's points are thousands.
 * @param {Points} points
 * @param {Projection["x"]} x
 * @param {number} start
 * @returns {[number, number] | null}
 */
function _extentOf(points, x, start) {
  const key = `${x} ${start}`;
  let cached = _extents.get(points);
  if (cached?.key !== key) {
    cached = { key, extent: xExtent(points, x, start) };
    _extents.set(points, cached);
  }
  return cached.extent;
}

/** @type {WeakMap<Points, { key: string, extent: [number, number] | null }>} */
const _extents = new WeakMap();

/**
 * The last drawing of each line's points, and how it was drawn: while
 * hundreds of lines are refined a few at a time, a redraw draws only the
 * new ones again.
 * @type {WeakMap<Points, { key: string, drawing: Drawing }>}
 */
const _drawn = new WeakMap();
