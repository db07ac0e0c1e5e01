// @ts-check
// What the explorer's chart draws: lines grouped by an attribute or a
// param, a colour per group, and per group either every line or their
// mean with a band. Pure: no DOM, so `deno test` imports it.

import { paletteColor } from "./colors.js";
import { fmtContext, fmtValue } from "./format.js";
import { aggregate } from "./series_math.js";
import { project } from "./metrics_lines.js";
import { at, compareValues } from "./params.js";

/** @import { ChartBand, ChartLine } from "./chart.js" */
/** @import { Line, Projection } from "./metrics_lines.js" */
/** @import { AggKind } from "./metrics_state.js" */

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
 * @returns {string}
 */
export function lineLabel(line, contextChosen) {
  const name = line.run.name || line.run.hash.slice(0, 8);
  return contextChosen ? name : `${name} ${fmtContext(line.series.context)}`;
}

/**
 * The groups of `lines` (in order of group value when grouping, else in the
 * lines' order) with their colours, and the chart's lines and bands.
 * @param {Line[]} lines
 * @param {PlotOptions} options
 * @returns {{ groups: Group[], lines: ChartLine[], bands: ChartBand[] }}
 */
export function planChart(lines, options) {
  const { group, agg, hidden, contextChosen, view } = options;
  /** @type {Map<string, Group>} */
  const byKey = new Map();
  for (const line of lines) {
    const value = groupOf(line, group);
    const key = value ?? line.key;
    let entry = byKey.get(key);
    if (entry === undefined) {
      entry = {
        key,
        label: value ?? lineLabel(line, contextChosen),
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
  groups.forEach((g, i) => (g.color = paletteColor(i)));
  /** @param {Line} line */
  const projected = (line) => project(line, view);

  /** @type {ChartLine[]} */
  const chartLines = [];
  /** @type {ChartBand[]} */
  const bands = [];
  if (agg && group) {
    for (const g of groups) {
      if (hidden.has(g.key)) continue;
      const mean = aggregate(g.members.map(projected), agg);
      if (mean === null) continue;
      chartLines.push({
        xs: mean.xs,
        ys: mean.mean,
        color: g.color,
        width: 2,
        label: `${g.label} (mean of ${g.members.length})`,
      });
      bands.push({ xs: mean.xs, lo: mean.lo, hi: mean.hi, color: g.color });
    }
    return { groups, lines: chartLines, bands };
  }
  if (agg && lines.length) {
    // A mean over every line: one group, whatever the legend hides.
    const mean = aggregate(lines.map(projected), agg);
    if (mean !== null) {
      const color = paletteColor(0);
      return {
        groups,
        lines: [{
          xs: mean.xs,
          ys: mean.mean,
          color,
          width: 2,
          label: `mean of ${lines.length}`,
        }],
        bands: [{ xs: mean.xs, lo: mean.lo, hi: mean.hi, color }],
      };
    }
  }
  for (const g of groups) {
    if (hidden.has(g.key)) continue;
    for (const line of g.members) {
      const { xs, ys } = projected(line);
      chartLines.push({
        xs,
        ys,
        color: g.color,
        width: 1,
        label: group
          ? `${lineLabel(line, contextChosen)} · ${g.label}`
          : lineLabel(line, contextChosen),
      });
    }
  }
  return { groups, lines: chartLines, bands };
}
