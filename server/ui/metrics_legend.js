/// <reference lib="dom" />
// @ts-check
// The explorer's legend: a swatch per group (or line), a click hides or
// shows it.

import { fill, h } from "./dom.js";
import { link } from "./urls.js";

/** @import { Group } from "./metrics_plot.js" */

/** Legend entries shown, at most. */
const MAX_ENTRIES = 500;

/**
 * @typedef {object} LegendOptions
 * @property {string} title
 * @property {boolean} grouped  Entries are groups (with a count), not runs
 *   (with a link to the run).
 * @property {ReadonlySet<string>} hidden  Keys of the groups shown as off.
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
  );
}
