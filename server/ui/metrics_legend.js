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
 * Fills `container` with the legend of `groups`.
 * @param {HTMLElement} container
 * @param {Group[]} groups
 * @param {LegendOptions} options
 */
export function renderLegend(container, groups, options) {
  const { grouped, hidden } = options;
  const entries = groups.slice(0, MAX_ENTRIES).map((g) => {
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
