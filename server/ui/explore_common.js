/// <reference lib="dom" />
// @ts-check
// What the params and scatters explorers share: the fields on offer (from
// GET /api/fields), a field picker with search, the rows of
// POST /api/runs/fields, the colour legend, a canvas sized for the
// screen, and downloads (CSV, PNG).

import { api } from "./api.js";
import { errorText, h } from "./dom.js";
import { metricExpr } from "./params.js";

/** @import { Colouring } from "./explore_axes.js" */

/**
 * @typedef {object} FieldTable  POST /api/runs/fields.
 * @property {string[]} fields
 * @property {{ hash: string, indexed: boolean, live: boolean, values: unknown[] }[]} rows
 * @property {number} total
 * @property {{ hash: string, reason: string }[]} unreadable
 */

/**
 * @typedef {object} FieldCatalog  GET /api/fields.
 * @property {string[]} attributes
 * @property {string[]} params
 * @property {{ name: string, context: import("./api_types.js").Context }[]} series
 * @property {string[]} series_fields
 */

/**
 * Every field the repository offers, as expressions: attributes, params,
 * then each series' summary fields.
 * @param {AbortSignal} [signal]
 * @returns {Promise<string[]>}
 */
export async function fieldsOffered(signal) {
  const catalog = /** @type {FieldCatalog} */ (await api("api/fields", {
    ...(signal ? { signal } : {}),
  }));
  return [
    ...catalog.params,
    ...catalog.series.flatMap((s) =>
      catalog.series_fields.map((f) => `${metricExpr(s.name, s.context)}.${f}`)
    ),
    ...catalog.attributes,
  ];
}

/**
 * POST /api/runs/fields: one row per run matching `q`.
 * @param {string} q
 * @param {string[]} fields
 * @param {AbortSignal} [signal]
 * @returns {Promise<FieldTable>}
 */
export async function fetchFields(q, fields, signal) {
  return /** @type {FieldTable} */ (await api("api/runs/fields", {
    body: { q, fields },
    ...(signal ? { signal } : {}),
  }));
}

/**
 * {@link fetchFields}, its failure shown in `problem` (hidden again on
 * success).
 * @param {string} q
 * @param {string[]} fields
 * @param {HTMLElement} problem
 * @param {AbortSignal} signal
 * @returns {Promise<FieldTable | null | undefined>} The table; null when
 *   it failed, undefined when it failed as `signal` was aborted (nothing
 *   shown then).
 */
export async function fetchFieldsShowing(q, fields, problem, signal) {
  try {
    const table = await fetchFields(q, fields, signal);
    problem.hidden = true;
    return table;
  } catch (error) {
    if (signal.aborted) return undefined;
    problem.replaceChildren(h("div.msg", { text: errorText(error) }));
    problem.hidden = false;
    return null;
  }
}

/**
 * Shows in `legend` the colours of `colours`, titled with the field they
 * are of; empties it when there is no colouring.
 * @param {HTMLElement} legend
 * @param {Colouring | null} colours
 * @param {string} field
 */
export function showColourLegend(legend, colours, field) {
  legend.replaceChildren();
  if (colours === null) return;
  legend.append(
    h("span.legend-title", { text: `colour: ${shortLabel(field)}` }),
    ...colours.legend.map((item) =>
      h(
        "span.legend-item",
        { dataset: { label: item.label } },
        h("span.swatch", { style: { background: item.colour } }),
        item.label,
      )
    ),
  );
}

/**
 * Sizes `canvas` to `width` × `height` CSS pixels, drawn at the screen's
 * resolution; returns its context, scaled to draw in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {number} width
 * @param {number} height
 * @returns {CanvasRenderingContext2D}
 */
export function sizeCanvas(canvas, width, height) {
  const ratio = devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

let pickerId = 0;

/**
 * A text box offering `offered()` as suggestions (the browser's own
 * search through a datalist); `onPick` gets the text on Enter or on the
 * button.
 * @param {string} label  The button's text.
 * @param {(field: string) => void} onPick
 * @returns {{ element: HTMLElement, offer: (fields: string[]) => void, input: HTMLInputElement }}
 */
export function fieldPicker(label, onPick) {
  const id = `fields-${++pickerId}`;
  const list = h("datalist", { id });
  const input = h("input.field-input", {
    list: id,
    placeholder: 'search fields: run.hparams.lr, run.metrics["loss"].last …',
    spellcheck: "false",
    autocomplete: "off",
  });
  const pick = () => {
    const text = input.value.trim();
    if (text === "") return;
    input.value = "";
    onPick(text);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") pick();
  });
  const element = h(
    "span.field-picker",
    {},
    input,
    list,
    h("button", { type: "button", onclick: pick, text: label }),
  );
  return {
    element,
    input,
    offer: (fields) =>
      list.replaceChildren(...fields.map((f) => h("option", { value: f }))),
  };
}

/**
 * Makes the browser save `content` as `filename`.
 * @param {string} filename
 * @param {Blob} content
 */
export function download(filename, content) {
  const href = URL.createObjectURL(content);
  const a = h("a", { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/**
 * A short label for a field: the param path without `run.`, a series
 * summary as `loss (subset=val).min`.
 * @param {string} field
 * @returns {string}
 */
export function shortLabel(field) {
  return field.replace(/^run\./, "");
}
