/// <reference lib="dom" />
// @ts-check
// The params explorer (/params): parallel coordinates, one axis per chosen
// field and one line per run matching the query, drawn on a canvas (10,000
// runs). Drag along an axis to brush it; brushes on several axes combine.
// Everything it shows lives in the URL: q, axis and log (repeated), color,
// brush.

import { getRun, patchRun } from "./api.js";
import { errorText, h, toast } from "./dom.js";
import { pool } from "./tasks.js";
import { fmtValue } from "./format.js";
import { link } from "./urls.js";
import { viewsBar } from "./views.js";
import {
  axisTicks,
  brushBetween,
  buildAxis,
  colouring,
  labelValue,
  position,
  selectRows,
  toCsv,
} from "./explore_axes.js";
import {
  download,
  fetchFieldsShowing,
  fieldPicker,
  fieldsOffered,
  shortLabel,
  showColourLegend,
  sizeCanvas,
} from "./explore_common.js";

/** @import { Axis, Brush, Colouring } from "./explore_axes.js" */
/** @import { FieldTable } from "./explore_common.js" */

const PAD_X = 70;
const PAD_TOP = 40;
const PAD_BOTTOM = 26;
/** Selected runs listed, at most. */
const LISTED = 500;
const DEFAULT_AXES = ["run.name"];
/** The performance mark set when the first lines are drawn. */
const PAINTED = "aim:params-painted";

/**
 * The explorer's state, as the URL holds it.
 * @typedef {object} ParamsState
 * @property {string} q
 * @property {string[]} axes
 * @property {string[]} logs  Fields whose axis is on a log scale.
 * @property {string} color  A field, or "" for none.
 * @property {Record<string, Brush>} brushes  By field.
 */

/**
 * @param {string} search  `location.search`.
 * @returns {ParamsState}
 */
export function readState(search) {
  const params = new URLSearchParams(search);
  const axes = params.getAll("axis");
  /** @type {Record<string, Brush>} */
  let brushes = {};
  try {
    brushes = JSON.parse(params.get("brush") ?? "{}") ?? {};
  } catch {
    // A hand-edited URL: no brushes rather than no page.
  }
  return {
    q: params.get("q") ?? "",
    axes: axes.length > 0 ? axes : DEFAULT_AXES,
    logs: params.getAll("log"),
    color: params.get("color") ?? "",
    brushes,
  };
}

/**
 * @param {ParamsState} state
 * @returns {string}  The query string, with its "?".
 */
export function writeState(state) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  for (const axis of state.axes) params.append("axis", axis);
  for (const axis of state.logs) {
    if (state.axes.includes(axis)) params.append("log", axis);
  }
  if (state.color) params.set("color", state.color);
  const brushes = Object.entries(state.brushes).filter(([field]) =>
    state.axes.includes(field)
  );
  if (brushes.length > 0) {
    params.set("brush", JSON.stringify(Object.fromEntries(brushes)));
  }
  return `?${params}`;
}

/**
 * `text`, or its end after an ellipsis, so that it fits in `width` pixels:
 * the end of a field (`hparams.optimizer.lr`) says the most.
 * @param {CanvasRenderingContext2D} ctx
 * @param {string} text
 * @param {number} width
 * @returns {string}
 */
export function fitText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0, hi = text.length;
  // The fewest characters cut from the start for "…" + the rest to fit.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ctx.measureText(`…${text.slice(mid + 1)}`).width <= width) hi = mid;
    else lo = mid + 1;
  }
  return `…${text.slice(lo + 1)}`;
}

/**
 * @param {HTMLElement} root
 * @param {import("./app.js").PageContext} app
 */
export function mount(root, app) {
  const state = readState(location.search);
  /** @type {FieldTable | null} */
  let table = null;
  /** @type {Axis[]} */
  let axes = [];
  /** @type {Colouring | null} */
  let colours = null;
  /** @type {string[]} Each row's colour. */
  let rowColours = [];
  /** @type {boolean[]} */
  let selected = [];
  /**
   * Each run's place on each axis (0 bottom, 1 top), row after row:
   * computed when the axes are built, so a brush move only draws.
   */
  let places = new Float64Array(0);
  /** @type {AbortController | null} */
  let loading = null;

  const query = h("input.query", {
    value: state.q,
    placeholder:
      'run query, e.g. run.hparams.lr < 0.1 and run.experiment == "sweep"',
    spellcheck: "false",
  });
  const problem = h("div.query-problem", { hidden: true, role: "alert" });
  const axisPicker = fieldPicker("Add axis", (field) => {
    if (!state.axes.includes(field)) state.axes = [...state.axes, field];
    update(true);
  });
  const colorPicker = fieldPicker("Colour by", (field) => {
    state.color = field;
    update(true);
  });
  const axisBar = h("div.axis-bar");
  const canvas = h("canvas.parallel", { dataset: { lines: "0" } });
  const legend = h("div.legend");
  const summary = h("div.selection-summary");
  const list = h("table.selection");
  const tagInput = h("input.tag-input", { placeholder: "tag" });
  const actions = h(
    "div.selection-actions",
    {},
    h("button", {
      type: "button",
      text: "Open in metrics explorer",
      onclick: () => {
        const hashes = selectedRows().map((r) => r.hash);
        if (hashes.length === 0) return toast("Brush some runs first");
        app.navigate(`metrics?runs=${hashes.join(",")}`);
      },
    }),
    tagInput,
    h("button", { type: "button", text: "Tag", onclick: () => tagSelected() }),
    h("button", {
      type: "button",
      text: "Export CSV",
      onclick: () => exportCsv(),
    }),
  );
  root.append(
    h(
      "section.explorer.params-explorer",
      {},
      viewsBar("params", app),
      h("div.controls", {}, query, problem),
      h(
        "div.controls",
        {},
        axisPicker.element,
        colorPicker.element,
        h("button", {
          type: "button",
          text: "Clear brushes",
          onclick: () => {
            state.brushes = {};
            update(false);
          },
        }),
      ),
      axisBar,
      h("div.plot-box", {}, canvas),
      legend,
      summary,
      actions,
      list,
    ),
  );
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      state.q = query.value;
      update(true);
    }
  });

  fieldsOffered().then((fields) => {
    axisPicker.offer(fields);
    colorPicker.offer(fields);
  }).catch((error) => toast(errorText(error), "error"));

  /** @param {boolean} refetch */
  function update(refetch) {
    const search = writeState(state);
    if (search !== location.search) {
      history.replaceState(null, "", location.pathname + search);
    }
    if (refetch) load();
    else {
      recompute();
      draw();
      showSelection();
    }
  }

  async function load() {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    const fields = ["run.name", "run.tags", ...state.axes];
    if (state.color) fields.push(state.color);
    const read = await fetchFieldsShowing(
      state.q,
      fields,
      problem,
      controller.signal,
    );
    if (read !== undefined) table = read;
    if (controller.signal.aborted) return;
    const rows = table?.rows ?? [];
    buildAxes();
    const colourColumn = state.color ? fields.length - 1 : -1;
    colours = colourColumn < 0
      ? null
      : colouring(rows.map((r) => r.values[colourColumn]));
    rowColours = rows.map((r) =>
      colours === null ? "#2f6fde" : colours.colour(r.values[colourColumn])
    );
    showAxes();
    showLegend();
    recompute();
    draw();
    showSelection();
    // The benchmark's mark: the first lines are on the canvas.
    if (rows.length > 0 && performance.getEntriesByName(PAINTED).length === 0) {
      performance.mark(PAINTED);
    }
  }

  /** The axes from the table's values, and every run's place on them. */
  function buildAxes() {
    const rows = table?.rows ?? [];
    axes = state.axes.map((field, i) =>
      buildAxis(rows.map((r) => r.values[i + 2]), {
        log: state.logs.includes(field),
      })
    );
    const n = axes.length;
    places = new Float64Array(rows.length * n);
    rows.forEach((row, k) => {
      axes.forEach((axis, i) => {
        places[k * n + i] = position(axis, row.values[i + 2]);
      });
    });
  }

  /** Turns the log scale of `field`'s axis on or off. */
  function toggleLog(/** @type {string} */ field) {
    state.logs = state.logs.includes(field)
      ? state.logs.filter((f) => f !== field)
      : [...state.logs, field];
    buildAxes();
    showAxes();
    update(false);
  }

  function recompute() {
    const rows = table?.rows ?? [];
    /** @type {Map<number, Brush>} */
    const brushes = new Map();
    state.axes.forEach((field, i) => {
      const brush = state.brushes[field];
      if (brush) brushes.set(i + 2, brush);
    });
    selected = selectRows(rows.map((r) => r.values), brushes);
  }

  function selectedRows() {
    return (table?.rows ?? []).filter((_, i) => selected[i]);
  }

  function showAxes() {
    axisBar.replaceChildren(
      ...state.axes.map((field, i) =>
        h(
          "span.axis-chip",
          { dataset: { field } },
          h("button", {
            type: "button",
            title: "move left",
            text: "◀",
            disabled: i === 0,
            onclick: () => move(i, -1),
          }),
          h("span.axis-name", { text: shortLabel(field), title: field }),
          logButton(field, axes[i]),
          h("button", {
            type: "button",
            title: "move right",
            text: "▶",
            disabled: i === state.axes.length - 1,
            onclick: () => move(i, 1),
          }),
          h("button", {
            type: "button",
            title: "remove",
            text: "✕",
            onclick: () => {
              state.axes = state.axes.filter((_, j) => j !== i);
              delete state.brushes[field];
              update(true);
            },
          }),
        )
      ),
    );
  }

  /**
   * The log toggle of an axis: only a numeric axis whose values are all
   * above 0 (None and non-finite aside) can be drawn on a log scale.
   * @param {string} field
   * @param {Axis | undefined} axis
   */
  function logButton(field, axis) {
    const on = state.logs.includes(field);
    const possible = axis?.kind === "numeric" && axis.min > 0;
    return h("button.log-toggle", {
      type: "button",
      text: "log",
      title: possible
        ? "log scale"
        : axis?.kind === "numeric"
        ? "no log scale: some values are ≤ 0"
        : "no log scale: not a numeric axis",
      disabled: !possible && !on,
      "aria-pressed": String(on && possible),
      onclick: () => toggleLog(field),
    });
  }

  /** @param {number} i @param {number} by */
  function move(i, by) {
    const next = [...state.axes];
    const [field] = next.splice(i, 1);
    next.splice(i + by, 0, /** @type {string} */ (field));
    state.axes = next;
    update(true);
  }

  function showLegend() {
    showColourLegend(legend, colours, state.color);
  }

  /** The x of axis `i` in CSS pixels. */
  function axisX(/** @type {number} */ i, /** @type {number} */ width) {
    const n = axes.length;
    return n === 1 ? width / 2 : PAD_X + i * (width - 2 * PAD_X) / (n - 1);
  }

  function size() {
    const width = Math.max(300, canvas.parentElement?.clientWidth ?? 800);
    const height = 420;
    return { width, height };
  }

  /** y in CSS pixels of position t (0 bottom, 1 top). */
  function yOf(/** @type {number} */ t, /** @type {number} */ height) {
    return PAD_TOP + (1 - t) * (height - PAD_TOP - PAD_BOTTOM);
  }

  function draw() {
    const started = performance.now();
    const { width, height } = size();
    const ctx = sizeCanvas(canvas, width, height);
    ctx.clearRect(0, 0, width, height);
    const rows = table?.rows ?? [];
    const brushing = Object.keys(state.brushes).some((f) =>
      state.axes.includes(f)
    );
    const n = axes.length;
    const xs = axes.map((_, i) => axisX(i, width));
    const top = yOf(1, height), span = yOf(0, height) - top;
    /** @param {number[]} indices */
    const path = (indices) => {
      ctx.beginPath();
      for (const k of indices) {
        const at = k * n;
        for (let i = 0; i < n; i++) {
          const x = /** @type {number} */ (xs[i]);
          const y = top + (1 - /** @type {number} */ (places[at + i])) * span;
          if (i === 0) ctx.moveTo(x, y);
          else ctx.lineTo(x, y);
        }
      }
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    if (brushing) {
      ctx.strokeStyle = "rgba(160, 160, 160, 0.18)";
      path(rows.map((_, k) => k).filter((k) => !selected[k]));
    }
    /** @type {Map<string, number[]>} */
    const byColour = new Map();
    rows.forEach((_, k) => {
      if (brushing && !selected[k]) return;
      const c = /** @type {string} */ (rowColours[k]);
      let group = byColour.get(c);
      if (!group) byColour.set(c, group = []);
      group.push(k);
    });
    ctx.globalAlpha = rows.length > 2000 ? 0.35 : 0.75;
    for (const [colour, indices] of byColour) {
      ctx.strokeStyle = colour;
      path(indices);
    }
    ctx.globalAlpha = 1;
    axes.forEach((axis, i) =>
      drawAxis(ctx, axis, i, /** @type {number} */ (xs[i]), height)
    );
    canvas.dataset.lines = String(rows.length);
    canvas.dataset.selected = String(selected.filter(Boolean).length);
    canvas.dataset.drawMs = (performance.now() - started).toFixed(1);
  }

  /**
   * @param {CanvasRenderingContext2D} ctx
   * @param {Axis} axis
   * @param {number} i
   * @param {number} x
   * @param {number} height
   */
  function drawAxis(ctx, axis, i, x, height) {
    ctx.strokeStyle = "#333";
    ctx.fillStyle = "#222";
    ctx.font = "11px system-ui, sans-serif";
    ctx.beginPath();
    ctx.moveTo(x, yOf(0, height));
    ctx.lineTo(x, yOf(1, height));
    ctx.stroke();
    // Titles alternate between two rows, so each may be as wide as two
    // gaps between axes (and twice its distance to the nearer edge).
    const { width } = size();
    const gap = axes.length > 1 ? axisX(1, width) - axisX(0, width) : width;
    const room = Math.min(
      (axes.length > 1 ? 2 * gap : gap) - 8,
      2 * Math.min(x, width - x) - 4,
    );
    ctx.textAlign = "center";
    ctx.fillText(
      fitText(ctx, shortLabel(/** @type {string} */ (state.axes[i])), room),
      x,
      i % 2 === 0 ? 12 : 26,
    );
    ctx.textAlign = "right";
    const ticks = axisTicks(axis, 4, 20);
    for (const [t, label] of ticks) {
      const y = yOf(t, height);
      ctx.beginPath();
      ctx.moveTo(x - 3, y);
      ctx.lineTo(x, y);
      ctx.stroke();
      ctx.fillText(label.slice(0, 14), x - 5, y + 3);
    }
    const brush = state.brushes[/** @type {string} */ (state.axes[i])];
    if (brush) {
      const span = brushSpan(axis, brush);
      if (span !== null) {
        ctx.fillStyle = "rgba(47, 111, 222, 0.22)";
        ctx.strokeStyle = "#2f6fde";
        const top = yOf(span[1], height), bottom = yOf(span[0], height);
        ctx.fillRect(x - 8, top, 16, Math.max(2, bottom - top));
        ctx.strokeRect(x - 8, top, 16, Math.max(2, bottom - top));
      }
    }
  }

  /**
   * Where a brush was drawn, 0 to 1, from the positions of what it holds.
   * @param {Axis} axis
   * @param {Brush} brush
   * @returns {[number, number] | null}
   */
  function brushSpan(axis, brush) {
    const ts = [];
    if (brush.min !== null && brush.max !== null) {
      ts.push(position(axis, brush.min), position(axis, brush.max));
    }
    for (const label of brush.labels) {
      ts.push(position(axis, labelValue(label)));
    }
    return ts.length === 0 ? null : [Math.min(...ts), Math.max(...ts)];
  }

  // Brushing: drag vertically near an axis; a click without a drag clears it.
  /** @type {{ axis: number, from: number } | null} */
  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    const { width, height } = size();
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const i = axes.findIndex((_, k) => Math.abs(axisX(k, width) - x) < 18);
    if (i < 0) return;
    drag = { axis: i, from: toT(event.clientY - rect.top, height) };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (drag === null) return;
    applyBrush(event, false);
  });
  canvas.addEventListener("pointerup", (event) => {
    if (drag === null) return;
    applyBrush(event, true);
    drag = null;
  });

  /** @param {number} y @param {number} height */
  function toT(y, height) {
    return Math.max(
      0,
      Math.min(1, 1 - (y - PAD_TOP) / (height - PAD_TOP - PAD_BOTTOM)),
    );
  }

  /** @param {PointerEvent} event @param {boolean} done */
  function applyBrush(event, done) {
    if (drag === null) return;
    const { height } = size();
    const rect = canvas.getBoundingClientRect();
    const to = toT(event.clientY - rect.top, height);
    const field = /** @type {string} */ (state.axes[drag.axis]);
    const axis = /** @type {Axis} */ (axes[drag.axis]);
    if (Math.abs(to - drag.from) < 0.01) {
      if (done) delete state.brushes[field];
    } else {
      state.brushes[field] = brushBetween(
        axis,
        Math.min(drag.from, to),
        Math.max(drag.from, to),
      );
    }
    // While dragging, only the drawing follows; the URL and the list on release.
    const started = performance.now();
    if (done) update(false);
    else {
      recompute();
      draw();
    }
    canvas.dataset.brushMs = (performance.now() - started).toFixed(1);
  }

  function showSelection() {
    const rows = selectedRows();
    const all = table?.rows.length ?? 0;
    summary.textContent = `${rows.length.toLocaleString("en-US")} of ${
      all.toLocaleString("en-US")
    } runs selected${
      table && table.total > all
        ? ` (first ${all} of ${table.total} drawn)`
        : ""
    }`;
    summary.dataset.count = String(rows.length);
    list.replaceChildren(
      h(
        "tr",
        {},
        h("th", { text: "run" }),
        ...state.axes.map((f) => h("th", { text: shortLabel(f), title: f })),
      ),
      ...rows.slice(0, LISTED).map((row) =>
        h(
          "tr",
          { dataset: { hash: row.hash } },
          h(
            "td",
            {},
            link(
              `run/${row.hash}`,
              String(row.values[0] || row.hash.slice(0, 8)),
            ),
          ),
          ...state.axes.map((_, i) =>
            h("td", { text: fmtValue(row.values[i + 2]) })
          ),
        )
      ),
    );
  }

  async function tagSelected() {
    const tag = tagInput.value.trim();
    if (!tag) return toast("Type a tag first");
    const rows = selectedRows();
    if (rows.length === 0) return toast("Brush some runs first");
    try {
      await pool(
        rows.map((row) => async () => {
          const fresh = await getRun(row.hash);
          await patchRun(row.hash, {
            tags: [...new Set([...fresh.tags, tag])],
          });
        }),
        4,
      );
      toast(`Tagged ${rows.length} runs "${tag}"`);
    } catch (error) {
      toast(errorText(error), "error");
    }
  }

  function exportCsv() {
    const rows = selectedRows();
    const fields = ["run.hash", ...state.axes];
    download(
      "params-selection.csv",
      new Blob([
        toCsv(
          fields,
          rows.map((r) => [
            r.hash,
            ...state.axes.map((_, i) => r.values[i + 2]),
          ]),
        ),
      ], { type: "text/csv" }),
    );
  }

  const onResize = () => draw();
  addEventListener("resize", onResize);
  load();
  return () => {
    loading?.abort();
    removeEventListener("resize", onResize);
  };
}
