/// <reference lib="dom" />
// @ts-check
// The metrics explorer's controls: the search form (metric, context, run
// filter checked as it is typed, compared runs) and the drawing options
// (colour, dash pattern and chart by three fields, mean and band,
// smoothing, x axis, log scale, y range).

import { h } from "./dom.js";
import { fmtContext, fmtContextKey } from "./format.js";
import { groupTitle } from "./metrics_plot.js";
import { checkAsYouType, showQueryProblem } from "./query_problem.js";

/** @import { Context, QueryProblem } from "./api_types.js" */
/** @import { XKind } from "./series_draw.js" */
/** @import { AggKind, ExplorerSettings, Panel } from "./metrics_state.js" */
/** @import { YLimits } from "./chart.js" */

/**
 * What the controls report; each is called after the control changed.
 * @typedef {object} ControlHandlers
 * @property {() => void} onSearch  The form was submitted.
 * @property {() => void} onMetric  Another metric name was entered.
 * @property {() => void} onContext
 * @property {(group: string) => void} onGroup  The colour's field.
 * @property {(dash: string) => void} onDash  The dash pattern's field.
 * @property {(facet: string) => void} onFacet  The field a chart is drawn
 *   for each value of.
 * @property {(agg: AggKind) => void} onAgg
 * @property {(weight: number) => void} onSmooth  While the slider moves.
 * @property {() => void} onSmoothDone  When it is released.
 * @property {(x: XKind) => void} onX
 * @property {(log: boolean) => void} onLog
 * @property {(metric: string) => [string, Context][]} contextsOf  The
 *   contexts to offer for a metric name.
 * @property {() => void} onMore  A metric was added below the first,
 *   changed or removed.
 * @property {(limits: YLimits) => void} onYLimits  Outliers ignored or not,
 *   a bound typed (null when cleared or not a number).
 */

const AGG_OPTIONS = /** @type {const} */ ([
  ["", "every line"],
  ["minmax", "group mean, min–max band"],
  ["std", "group mean ± std band"],
  ["median", "group median, min–max band"],
]);

const X_OPTIONS = /** @type {const} */ ([
  ["step", "step"],
  ["epoch", "epoch"],
  ["time", "relative time"],
]);

/** The explorer's controls, built from the settings at start. */
export class ExplorerControls {
  /** The search form. */
  form;
  /** Where a bad run filter is explained. */
  errorBox;
  /** The drawing options' row. */
  options;
  #metric;
  #names;
  #context;
  #runs;
  #compare;
  #group;
  #dash;
  #facet;
  #more;
  #on;

  /**
   * @param {ExplorerSettings} settings
   * @param {ControlHandlers} on
   */
  constructor(settings, on) {
    this.#on = on;
    this.#more = h("div.more-metrics");
    this.#metric = h("input.metric", {
      type: "text",
      value: settings.metric,
      list: "aim-metric-names",
      placeholder: "metric name",
      "aria-label": "Metric",
      autocomplete: "off",
    });
    this.#names = h("datalist#aim-metric-names");
    this.#context = h("select.context", { "aria-label": "Context" });
    this.#runs = h("input.runq", {
      type: "text",
      value: settings.runQ,
      placeholder: "run filter, e.g. run.hparams.lr < 0.01",
      "aria-label": "Run filter",
      spellcheck: false,
    });
    this.#compare = h("span.compare-chip");
    this.#group = h("select.group", { "aria-label": "Group by" });
    this.#dash = h("select.dash", { "aria-label": "Stroke by" });
    this.#facet = h("select.facet", { "aria-label": "Charts by" });
    const agg = h(
      "select.agg",
      { "aria-label": "Aggregate" },
      AGG_OPTIONS.map(([value, text]) => h("option", { value, text })),
    );
    agg.value = settings.agg;
    const smooth = h("input", {
      type: "range",
      min: "0",
      max: "0.99",
      step: "0.01",
      value: String(settings.smooth),
      "aria-label": "Smoothing",
    });
    const smoothLabel = h("span.smooth-value", {
      text: settings.smooth.toFixed(2),
    });
    const xButtons = X_OPTIONS.map(([kind, text]) =>
      h("button", {
        type: "button",
        text,
        class: kind === settings.x ? "on" : "",
        dataset: { x: kind },
        onclick: () => {
          for (const b of xButtons) {
            b.classList.toggle("on", b.dataset.x === kind);
          }
          on.onX(kind);
        },
      })
    );
    const log = h("input", { type: "checkbox", checked: settings.log });
    const robust = h("input.robust", {
      type: "checkbox",
      checked: settings.robust,
    });
    /** @param {string} label @param {number | null} value */
    const bound = (label, value) =>
      h("input.y-bound", {
        type: "number",
        step: "any",
        value: value === null ? "" : String(value),
        placeholder: "auto",
        "aria-label": label,
      });
    const yMin = bound("Y min", settings.yMin);
    const yMax = bound("Y max", settings.yMax);

    this.form = h(
      "form.explorer-controls",
      {
        onsubmit: (
          /** @type {Event} */ e,
        ) => (e.preventDefault(), on.onSearch()),
      },
      h(
        "label.field",
        {},
        h("span", { text: "Metric" }),
        this.#metric,
        this.#names,
      ),
      h("label.field", {}, h("span", { text: "Context" }), this.#context),
      h("label.field", {}, h("span", { text: "Runs" }), this.#runs),
      this.#compare,
      h("button.primary", { type: "submit", text: "Show" }),
      h("button", {
        type: "button",
        text: "+ metric",
        title: "Chart another metric below, sharing the x axis and the cursor",
        onclick: () => this.#addMore({ metric: "", context: "" }),
      }),
      this.#more,
    );
    for (const panel of settings.more) this.#addMore(panel);
    this.errorBox = h("div.query-error", { hidden: true, role: "alert" });
    checkAsYouType(this.#runs, this.errorBox, "metrics");
    this.options = h(
      "div.explorer-controls",
      {},
      h("label.field", {}, h("span", { text: "Group by" }), this.#group),
      h(
        "label.field",
        { title: "Lines of different values get different dash patterns" },
        h("span", { text: "Stroke by" }),
        this.#dash,
      ),
      h(
        "label.field",
        { title: "A chart for each value (for each metric)" },
        h("span", { text: "Charts by" }),
        this.#facet,
      ),
      h("label.field", {}, h("span", { text: "Show" }), agg),
      h(
        "label.field",
        {},
        h("span", { text: "Smoothing" }),
        smooth,
        smoothLabel,
      ),
      h(
        "span.field",
        {},
        h("span", { text: "X" }),
        h("span.segmented", {}, xButtons),
      ),
      h("label.check", {}, log, " log scale"),
      h(
        "label.check",
        {
          title: "The y axis spans the 1st to 99th percentile of the values " +
            "drawn",
        },
        robust,
        " ignore outliers",
      ),
      h("label.field", {}, h("span", { text: "Y" }), yMin, "–", yMax),
    );

    this.#metric.addEventListener("change", () => on.onMetric());
    this.#context.addEventListener("change", () => on.onContext());
    this.#group.addEventListener("change", () => on.onGroup(this.#group.value));
    this.#dash.addEventListener("change", () => on.onDash(this.#dash.value));
    this.#facet.addEventListener("change", () => on.onFacet(this.#facet.value));
    agg.addEventListener(
      "change",
      () => on.onAgg(/** @type {AggKind} */ (agg.value)),
    );
    smooth.addEventListener("input", () => {
      const weight = Number(smooth.value);
      smoothLabel.textContent = weight.toFixed(2);
      on.onSmooth(weight);
    });
    smooth.addEventListener("change", () => on.onSmoothDone());
    log.addEventListener("change", () => on.onLog(log.checked));
    /** @param {HTMLInputElement} input */
    const valueOf = (input) =>
      input.value.trim() === "" || !Number.isFinite(input.valueAsNumber)
        ? null
        : input.valueAsNumber;
    const onLimits = () =>
      on.onYLimits({
        robust: robust.checked,
        min: valueOf(yMin),
        max: valueOf(yMax),
      });
    for (const input of [robust, yMin, yMax]) {
      input.addEventListener("change", onLimits);
    }
  }

  /**
   * The metric name typed or chosen, trimmed.
   * @returns {string}
   */
  get metric() {
    return this.#metric.value.trim();
  }

  /** @param {string} name */
  set metric(name) {
    this.#metric.value = name;
  }

  /**
   * The metrics (and contexts) chosen below the first; rows without a
   * name are left out.
   * @returns {Panel[]}
   */
  get more() {
    return [...this.#more.children].flatMap((row) => {
      const [input, select] = row.querySelectorAll("input, select");
      const metric = /** @type {HTMLInputElement} */ (input).value.trim();
      const context = /** @type {HTMLSelectElement} */ (select).value;
      return metric ? [{ metric, context }] : [];
    });
  }

  /** Offers each metric below the first the contexts it has now. */
  refreshMore() {
    for (const row of this.#more.children) {
      const [input, select] = row.querySelectorAll("input, select");
      _fillContexts(
        /** @type {HTMLSelectElement} */ (select),
        this.#on.contextsOf(/** @type {HTMLInputElement} */ (input).value),
        /** @type {HTMLSelectElement} */ (select).value,
      );
    }
  }

  /**
   * A row for one more metric: its name, its context, and a button that
   * removes it.
   * @param {Panel} panel
   */
  #addMore(panel) {
    const metric = h("input.metric", {
      type: "text",
      value: panel.metric,
      list: "aim-metric-names",
      placeholder: "metric name",
      "aria-label": "Also metric",
      autocomplete: "off",
    });
    const context = h("select.context", { "aria-label": "Also context" });
    _fillContexts(context, this.#on.contextsOf(panel.metric), panel.context);
    const row = h(
      "span.more-metric",
      {},
      metric,
      context,
      h("button.link", {
        type: "button",
        text: "×",
        title: "Remove this metric",
        "aria-label": "Remove this metric",
        onclick: () => {
          row.remove();
          this.#on.onMore();
        },
      }),
    );
    metric.addEventListener("change", () => {
      _fillContexts(context, this.#on.contextsOf(metric.value), "");
      this.#on.onMore();
    });
    context.addEventListener("change", () => this.#on.onMore());
    this.#more.append(row);
    if (!panel.metric) metric.focus();
  }

  /**
   * The chosen context's canonical key; "" for any context.
   * @returns {string}
   */
  get context() {
    return this.#context.value;
  }

  /**
   * The run filter as typed.
   * @returns {string}
   */
  get runQuery() {
    return this.#runs.value;
  }

  /**
   * Offers these metric names while typing.
   * @param {string[]} names
   */
  setMetricNames(names) {
    this.#names.replaceChildren(...names.map((n) => h("option", { value: n })));
  }

  /**
   * Offers "any context" and `contexts`, and selects `value`, added as an
   * option of its own when not among them (a context from the address).
   * @param {[string, Context][]} contexts
   * @param {string} value  A canonical key; "" for any.
   */
  setContexts(contexts, value) {
    _fillContexts(this.#context, contexts, value);
  }

  /**
   * Offers the attributes and `params` (dotted paths) as the fields of the
   * colour, the dash pattern and the charts, and selects the settings'
   * ones, each added as an option of its own when not among them.
   * @param {string[]} params
   * @param {Pick<ExplorerSettings, "group" | "dash" | "facet">} chosen
   */
  setGroups(params, chosen) {
    const fields = [
      ["attr:experiment", "experiment"],
      ["attr:status", "status"],
      ["attr:context", "context"],
      ...params.map((p) => [`param:${p}`, p]),
    ];
    _fillFields(
      this.#group,
      "nothing (a colour per run)",
      fields,
      chosen.group,
    );
    _fillFields(this.#dash, "nothing (solid lines)", fields, chosen.dash);
    _fillFields(
      this.#facet,
      "nothing (a chart per metric)",
      fields,
      chosen.facet,
    );
  }

  /**
   * Shows how many runs are compared, with a button back to every run;
   * nothing for none.
   * @param {number} count
   * @param {() => void} onAll
   */
  showCompared(count, onAll) {
    this.#compare.replaceChildren();
    if (count === 0) return;
    this.#compare.append(
      h("span.tag", {
        text: `${count} selected run${count === 1 ? "" : "s"}`,
      }),
      h("button.link", { type: "button", text: "all runs", onclick: onAll }),
    );
  }

  /**
   * Explains what is wrong with the search.
   * @param {Pick<QueryProblem, "message" | "column">} problem
   * @param {string} source  The text the problem's column points into.
   */
  showProblem(problem, source) {
    showQueryProblem(this.errorBox, problem, source);
  }

  /** Hides the explanation of the last problem. */
  hideProblem() {
    this.errorBox.hidden = true;
  }
}

/**
 * Offers `none` (the value "") and `fields` in `select`, and selects
 * `value`, added as an option of its own when not among them.
 * @param {HTMLSelectElement} select
 * @param {string} none  What "" means.
 * @param {string[][]} fields  [value, text] pairs.
 * @param {string} value
 */
function _fillFields(select, none, fields, value) {
  select.replaceChildren(
    ...[["", none], ...fields].map(([value, text]) =>
      h("option", { value, text })
    ),
  );
  if (value && !fields.some(([v]) => v === value)) {
    select.append(h("option", { value, text: groupTitle(value) }));
  }
  select.value = value;
}

/**
 * Offers "any context" and `contexts` in `select`, and selects `value`,
 * added as an option of its own when not among them (a context from the
 * address).
 * @param {HTMLSelectElement} select
 * @param {[string, Context][]} contexts
 * @param {string} value  A canonical key; "" for any.
 */
function _fillContexts(select, contexts, value) {
  select.replaceChildren(
    h("option", { value: "", text: "any context" }),
    ...contexts.map(([key, ctx]) =>
      h("option", { value: key, text: fmtContext(ctx) })
    ),
  );
  if (value !== "" && !contexts.some(([key]) => key === value)) {
    select.append(h("option", { value, text: fmtContextKey(value) }));
  }
  select.value = value;
}
