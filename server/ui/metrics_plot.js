// @ts-check
// What the explorer's chart draws: lines grouped by an attribute or a
// param, a colour per group and a dash pattern per value of a second
// field, and per group (or per colour and dash) either every line or
// their mean with a band, each drawn by the drawing contract
// (series_draw.js) at the plot's scale. Pure: no DOM, so `deno test`
// imports it.

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
 * @property {string} [dash]  A second field, as `group`: lines of different
 *   values of it get different dash patterns; "" (the default) for none.
 * @property {Map<string, number[]>} [dashes]  Dash patterns by value of
 *   `dash`, for lines charted on several charts; by default from `lines`.
 */

/**
 * The lines of one value of the dash field: a legend entry.
 * @typedef {object} DashEntry
 * @property {string} key  Its key among the hidden ones: see {@link dashKey}.
 * @property {string} label  The value.
 * @property {number[]} dash  Its pattern, in CSS pixels; [] for solid.
 * @property {number} count  Lines of it.
 */

/**
 * What the chart gets, and what it says about the lines drawn.
 * @typedef {object} Plan
 * @property {Group[]} groups
 * @property {DashEntry[]} dashed  A legend entry per value of the dash
 *   field, in order of value; [] when lines are not dashed by a field.
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
 * Dash patterns, in CSS pixels, given to the values of the dash field in
 * turn: solid, long dashes, dots, dash-dot; they repeat after four. None
 * is the 5-3 dash of a preview (chart.js).
 */
export const DASHES = /** @type {const} */ ([
  [],
  [12, 6],
  [2, 4],
  [12, 4, 2, 4],
]);

/**
 * The key among the hidden ones of a value of the dash field: apart from
 * group values and line keys, which may be any text.
 * @param {string} value
 * @returns {string}
 */
export function dashKey(value) {
  return `\u0001dash\u0000${value}`;
}

/**
 * A dash pattern for each value of the field `dash` among `lines`, in the
 * order of the values.
 * @param {Line[]} lines
 * @param {string} dash
 * @returns {Map<string, number[]>}
 */
export function dashesOf(lines, dash) {
  if (!dash) return new Map();
  const values = [
    ...new Set(lines.flatMap((line) => groupOf(line, dash) ?? [])),
  ].sort(compareValues);
  return new Map(
    values.map((value, i) => [value, [...DASHES[i % DASHES.length] ?? []]]),
  );
}

/**
 * Whether the legend hides a line from the chart: by its group's entry
 * (its own when not grouping) or its dash value's. Aggregated without
 * grouping, the runs' entries hide nothing: the mean is over every line
 * (of each dash value).
 * @param {Line} line
 * @param {Pick<PlotOptions, "group" | "agg" | "hidden" | "dash">} options
 * @returns {boolean}
 */
export function isHidden(line, { group, agg, dash = "", hidden }) {
  if (hidden.size === 0) return false;
  const byRun = agg === "" || group !== "";
  if (byRun && hidden.has(groupOf(line, group) ?? line.key)) return true;
  const value = groupOf(line, dash);
  return value !== null && hidden.has(dashKey(value));
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
 * lines' order) with their colours, the values of the dash field with
 * their patterns, and the chart's lines, each drawn at the scale the plot
 * will have. Aggregated, a line stands for each (group, dash value) pair,
 * or for every line when neither field is set.
 * @param {Line[]} lines
 * @param {PlotOptions} options
 * @returns {Plan}
 */
export function planChart(lines, options) {
  const { group, agg, hidden, view, width, colors } = options;
  const dash = options.dash ?? "";
  const metricNamed = options.metricNamed ?? false;
  const patterns = options.dashes ?? dashesOf(lines, dash);
  /** @param {Line} line */
  const label = (line) => lineLabel(line, options.contextChosen, metricNamed);
  /** @type {Map<string, Group>} */
  const byKey = new Map();
  /** @type {Map<string, DashEntry>} */
  const byDash = new Map();
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
    const dashed = groupOf(line, dash);
    if (dashed === null) continue;
    let style = byDash.get(dashed);
    if (style === undefined) {
      style = {
        key: dashKey(dashed),
        label: dashed,
        dash: patterns.get(dashed) ?? [],
        count: 0,
      };
      byDash.set(dashed, style);
    }
    style.count++;
  }
  const groups = [...byKey.values()];
  if (group) groups.sort((a, b) => compareValues(a.label, b.label));
  groups.forEach((g, i) =>
    g.color = colors?.get(colorKey(g.line, group)) ?? paletteColor(i)
  );
  const dashed = [...byDash.values()].sort((a, b) =>
    compareValues(a.label, b.label)
  );
  const drawn = lines.filter((line) => !isHidden(line, options));
  const drawings = _draw(drawn, options);
  const plan = {
    groups,
    dashed,
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
    const what = agg === "median" ? "median" : "mean";
    for (const set of _aggregated(drawn, groups, options, patterns)) {
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
        label: set.label
          ? `${set.label} (${what} of ${set.members.length})`
          : `${what} of ${set.members.length}`,
        band: mean.band,
        coarse: !mean.fine,
        ...(set.dash ? { dash: set.dash } : {}),
      });
    }
    if (plan.lines.length > 0) return plan;
  }
  for (const g of groups) {
    if (hidden.has(g.key)) continue;
    for (const line of g.members) {
      const drawing = drawings.get(line);
      if (drawing === undefined) continue;
      const value = groupOf(line, dash);
      const parts = [label(line)];
      if (group) parts.push(g.label);
      if (value !== null) parts.push(value);
      add(
        drawing,
        chartLine(drawing, {
          color: g.color,
          width: 1,
          label: parts.join(" · "),
          ...(value === null ? {} : { dash: patterns.get(value) ?? [] }),
        }),
      );
    }
  }
  return plan;
}

/**
 * The sets of lines an aggregate is drawn for: every line when neither
 * field is set, else each (group, dash value) pair in the order of the
 * groups, then of the dash values.
 * @param {Line[]} drawn  The lines not hidden.
 * @param {Group[]} groups
 * @param {PlotOptions} options
 * @param {Map<string, number[]>} patterns
 * @returns {{ members: Line[], color: string, label: string, dash: number[] | null }[]}
 */
function _aggregated(drawn, groups, options, patterns) {
  const { group, dash = "" } = options;
  if (!group && !dash) {
    return [{ members: drawn, color: paletteColor(0), label: "", dash: null }];
  }
  const shown = new Set(drawn);
  /** @type {Map<string, { members: Line[], color: string, label: string, dash: number[] | null, order: [number, string] }>} */
  const sets = new Map();
  groups.forEach((g, i) => {
    for (const line of g.members) {
      if (!shown.has(line)) continue;
      const value = groupOf(line, dash);
      // Without grouping, the colour is one: the groups are the dash values.
      const order = /** @type {[number, string]} */ ([
        group ? i : 0,
        value ?? "",
      ]);
      const key = JSON.stringify(order);
      let set = sets.get(key);
      if (set === undefined) {
        set = {
          members: [],
          color: group ? g.color : paletteColor(0),
          label: [group ? g.label : null, value]
            .filter((part) => part !== null).join(" · "),
          dash: value === null ? null : patterns.get(value) ?? [],
          order,
        };
        sets.set(key, set);
      }
      set.members.push(line);
    }
  });
  return [...sets.values()].sort((a, b) =>
    a.order[0] - b.order[0] || compareValues(a.order[1], b.order[1])
  );
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
