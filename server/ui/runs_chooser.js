/// <reference lib="dom" />
// @ts-check
// The runs table's column chooser: a box per param and per series summary
// seen so far (last, min, max), filtered by a text.

import { h } from "./dom.js";
import { fmtContext } from "./format.js";
import { canonical } from "./params.js";

/** @import { ColumnChoice, Known, MetricColumn } from "./runs_model.js" */

/** Params listed at most (the filter finds the others). */
const MAX_PARAMS = 300;

/**
 * Fills `panel` with the chooser. Ticking a box changes `chosen` in place
 * and calls `onChange(chosen)`.
 * @param {HTMLElement} panel
 * @param {Known} known
 * @param {ColumnChoice} chosen
 * @param {(chosen: ColumnChoice) => void} onChange
 * @param {() => void} onClose
 */
export function renderChooser(panel, known, chosen, onChange, onClose) {
  const filter = h("input", {
    type: "search",
    placeholder: "filter",
    "aria-label": "Filter columns",
  });
  const list = h("div.chooser-list");
  /** @param {string[]} path */
  const pathKey = (path) => path.join("\u0000");
  const draw = () => {
    const f = filter.value.toLowerCase();
    const params = [...known.params.values()]
      .filter((p) => p.path.join(".").toLowerCase().includes(f))
      .sort((a, b) => a.path.join(".").localeCompare(b.path.join(".")))
      .slice(0, MAX_PARAMS);
    const metrics = [...known.metrics.values()].filter((m) =>
      m.name.toLowerCase().includes(f)
    );
    list.replaceChildren(
      h("h4", { text: "Params" }),
      ...params.map((p) => {
        const on = chosen.params.some((x) => pathKey(x) === pathKey(p.path));
        const box = h("input", { type: "checkbox", checked: on });
        box.addEventListener("change", () => {
          chosen.params = box.checked
            ? [...chosen.params, p.path]
            : chosen.params.filter((x) => pathKey(x) !== pathKey(p.path));
          onChange(chosen);
        });
        return h("label.check", {}, box, " ", p.path.join("."));
      }),
      h("h4", { text: "Metrics" }),
      ...metrics.map((m) =>
        h(
          "div.metric-choice",
          {},
          h("span", { text: `${m.name} ${fmtContext(m.context)}` }),
          .../** @type {const} */ (["last", "min", "max"]).map((agg) => {
            /** @param {MetricColumn} x */
            const same = (x) =>
              x.name === m.name &&
              canonical(x.context) === canonical(m.context) && x.agg === agg;
            const box = h("input", {
              type: "checkbox",
              checked: chosen.metrics.some(same),
            });
            box.addEventListener("change", () => {
              chosen.metrics = box.checked
                ? [...chosen.metrics, { name: m.name, context: m.context, agg }]
                : chosen.metrics.filter((x) => !same(x));
              onChange(chosen);
            });
            return h("label.check", {}, box, ` ${agg}`);
          }),
        )
      ),
    );
  };
  filter.addEventListener("input", draw);
  panel.replaceChildren(
    h(
      "div.chooser-head",
      {},
      filter,
      h("button.link", { text: "Close", onclick: onClose }),
    ),
    list,
  );
  draw();
}
