/// <reference lib="dom" />
// @ts-check
// The explorer's legend: a swatch per group (or line), and a sample of
// each dash pattern with the value it stands for; a click hides or shows
// an entry.

import { fill, h } from "./dom.js";
import { link } from "./urls.js";

/** @import { DashEntry, Group } from "./metrics_plot.js" */

/** Legend entries shown, at most. */
const MAX_ENTRIES = 500;

/**
 * @typedef {object} LegendOptions
 * @property {string} title
 * @property {boolean} grouped  Entries are groups (with a count), not runs
 *   (with a link to the run).
 * @property {ReadonlySet<string>} hidden  Keys of the groups (and dash
 *   values) shown as off.
 * @property {DashEntry[]} [dashed]  The values of the dash field, if any.
 * @property {string} [dashTitle]  The dash entries' heading.
 * @property {(key: string) => void} onToggle  An entry was clicked (not its link).
 */

/**
 * What each container's legend shows, as text: a redraw with the same
 * legend (each answer while lines are refined) leaves its hundreds of
 * elements alone rather than building and laying them out again.
 * @type {WeakMap<HTMLElement, string>}
 */
const _shown = new WeakMap();

/**
 * Fills `container` with the legend of `groups`, unless it shows that
 * legend already.
 * @param {HTMLElement} container
 * @param {Group[]} groups
 * @param {LegendOptions} options
 */
export function renderLegend(container, groups, options) {
  const { grouped, hidden } = options;
  const dashed = options.dashed ?? [];
  const shown = groups.slice(0, MAX_ENTRIES);
  const text = JSON.stringify([
    options.title,
    grouped,
    groups.length,
    shown.map((g) => [
      g.key,
      g.label,
      g.color,
      hidden.has(g.key),
      grouped ? g.members.length : g.line.run.hash,
    ]),
    options.dashTitle,
    dashed.map((d) => [d.key, d.label, d.dash, d.count, hidden.has(d.key)]),
  ]);
  if (_shown.get(container) === text) return;
  _shown.set(container, text);
  const entries = shown.map((g) => {
    const entry = h(
      `div.entry${hidden.has(g.key) ? ".off" : ""}`,
      { title: "click to hide or show", dataset: { color: g.color } },
      h("span.swatch", { style: { background: g.color } }),
      grouped
        ? h("span.label", { text: g.label })
        : h("span.label", {}, link(`run/${g.line.run.hash}`, g.label)),
      grouped ? h("span.n", { text: String(g.members.length) }) : null,
    );
    entry.addEventListener("click", (e) => {
      if (e.target instanceof Element && e.target.closest("a")) return;
      options.onToggle(g.key);
    });
    return entry;
  });
  fill(
    container,
    h("h3", { text: options.title }),
    entries.length ? entries : h("p.empty", { text: "No lines." }),
    groups.length > MAX_ENTRIES
      ? h("p.empty", { text: `${groups.length - MAX_ENTRIES} more` })
      : null,
    dashed.length ? h("h3", { text: options.dashTitle ?? "Dashes" }) : null,
    dashed.slice(0, MAX_ENTRIES).map((d) => {
      const entry = h(
        `div.entry.dash-entry${hidden.has(d.key) ? ".off" : ""}`,
        {
          title: "click to hide or show",
          dataset: { dash: d.dash.join(" ") || "solid" },
        },
        _dashSample(d.dash),
        h("span.label", { text: d.label }),
        h("span.n", { text: String(d.count) }),
      );
      entry.addEventListener("click", () => options.onToggle(d.key));
      return entry;
    }),
  );
}

/**
 * A short stretch of line drawn with the pattern `dash` (CSS pixels; []
 * for solid).
 * @param {number[]} dash
 * @returns {SVGSVGElement}
 */
function _dashSample(dash) {
  const svg = "http://www.w3.org/2000/svg";
  const sample = document.createElementNS(svg, "svg");
  sample.classList.add("dash-sample");
  sample.setAttribute("width", "32");
  sample.setAttribute("height", "8");
  sample.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(svg, "line");
  /** @type {Record<string, string>} */
  const attributes = {
    x1: "0",
    y1: "4",
    x2: "32",
    y2: "4",
    stroke: "#333",
    "stroke-width": "2",
    "stroke-dasharray": dash.join(" ") || "none",
  };
  for (const [name, value] of Object.entries(attributes)) {
    line.setAttribute(name, value);
  }
  sample.append(line);
  return sample;
}
