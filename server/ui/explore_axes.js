// @ts-check
// Axes of the params and scatters explorers: where a field's values go on
// an axis (numbers on a scale; strings, booleans and lists as categories;
// None and non-finite numbers each in a place of their own, never at 0),
// which runs a brush holds, colours for a field, and the CSV of a table.
// Pure: no DOM, so `deno test` imports it.

import { fmtValue, num } from "./format.js";
import { paletteColor } from "./colors.js";
import { compareValues } from "./params.js";

/**
 * An axis built from one field's values.
 * @typedef {object} Axis
 * @property {"numeric" | "categorical"} kind
 * @property {number} min  Lowest finite number (numeric axes).
 * @property {number} max  Highest finite number (numeric axes).
 * @property {boolean} log  A numeric axis drawn on a log scale (only when min > 0).
 * @property {string[]} categories  Category labels, bottom to top (categorical axes).
 * @property {string[]} special  Places below the scale, bottom up: "None", "NaN", "-inf", "inf" as present.
 */

/** Share of an axis's height given to its special places, when it has any. */
export const SPECIAL_SHARE = 0.12;

/**
 * The label of a value that has a place of its own below a numeric scale,
 * or null for a finite number.
 * @param {unknown} value
 * @returns {string | null}
 */
function specialOf(value) {
  if (value === null || value === undefined) return "None";
  const n = num(value);
  if (n === null || Number.isFinite(n)) return null;
  return Number.isNaN(n) ? "NaN" : n > 0 ? "inf" : "-inf";
}

/**
 * The axis for `values`: numeric when every value is a number (None and
 * non-finite numbers aside), else categorical.
 * @param {readonly unknown[]} values
 * @param {{ log?: boolean }} [options]
 * @returns {Axis}
 */
export function buildAxis(values, { log = false } = {}) {
  let min = Infinity, max = -Infinity;
  let numeric = true;
  const special = new Set();
  for (const value of values) {
    if (typeof value === "number" && Number.isFinite(value)) {
      if (value < min) min = value;
      if (value > max) max = value;
      continue;
    }
    const place = specialOf(value);
    if (place === null || typeof value === "boolean") numeric = false;
    else special.add(place);
  }
  if (numeric && min <= max) {
    const order = ["None", "NaN", "-inf", "inf"];
    return {
      kind: "numeric",
      min,
      max,
      log: log && min > 0,
      categories: [],
      special: order.filter((s) => special.has(s)),
    };
  }
  const labels = new Map();
  let none = false;
  for (const value of values) {
    if (value === null || value === undefined) none = true;
    else labels.set(fmtValue(value), value);
  }
  const categories = [...labels.keys()].sort((a, b) =>
    compareValues(labels.get(a), labels.get(b))
  );
  return {
    kind: "categorical",
    min: 0,
    max: 0,
    log: false,
    categories,
    special: none ? ["None"] : [],
  };
}

/**
 * Where `value` sits on `axis`, from 0 (bottom) to 1 (top). Special places
 * take the bottom {@link SPECIAL_SHARE}, each its own row.
 * @param {Axis} axis
 * @param {unknown} value
 * @returns {number}
 */
export function position(axis, value) {
  const specials = axis.special.length;
  const floor = specials > 0 ? SPECIAL_SHARE : 0;
  const place = axis.kind === "numeric" || value === null ||
      value === undefined
    ? specialOf(value)
    : null;
  if (place !== null) {
    const i = axis.special.indexOf(place);
    return floor * (i + 0.5) / Math.max(1, specials);
  }
  if (axis.kind === "categorical") {
    const i = axis.categories.indexOf(fmtValue(value));
    const n = axis.categories.length;
    return floor + (1 - floor) * (n === 1 ? 0.5 : i / (n - 1));
  }
  const n = /** @type {number} */ (num(value));
  const t = scaled(axis, n);
  return floor + (1 - floor) * t;
}

/**
 * The value a label stands for: the special places (None, NaN, inf, -inf)
 * and True and False their values, any other label itself.
 * @param {string} label
 * @returns {unknown}
 */
export function labelValue(label) {
  return label === "None"
    ? null
    : label === "NaN"
    ? NaN
    : label === "inf"
    ? Infinity
    : label === "-inf"
    ? -Infinity
    : label === "True"
    ? true
    : label === "False"
    ? false
    : label;
}

/**
 * The ticks of `axis` as [where, 0 to 1; label]: its special places, then
 * `steps` + 1 even steps of a numeric scale (one when it is a single
 * value), or every category when there are at most `most`, else about
 * `most` of them evenly spread.
 * @param {Axis} axis
 * @param {number} steps
 * @param {number} most
 * @returns {[number, string][]}
 */
export function axisTicks(axis, steps, most) {
  /** @type {[number, string][]} */
  const ticks = [];
  for (const place of axis.special) {
    ticks.push([position(axis, labelValue(place)), place]);
  }
  if (axis.kind === "numeric") {
    for (let k = 0; k <= steps; k++) {
      const value = axis.log
        ? 10 **
          (Math.log10(axis.min) +
            k / steps * (Math.log10(axis.max) - Math.log10(axis.min)))
        : axis.min + k / steps * (axis.max - axis.min);
      ticks.push([position(axis, value), fmtValue(value)]);
      if (axis.min === axis.max) break;
    }
  } else {
    const step = Math.ceil(axis.categories.length / most);
    axis.categories.forEach((label, k) => {
      if (k % step === 0) ticks.push([position(axis, label), label]);
    });
  }
  return ticks;
}

/**
 * A finite number's place on a numeric axis's scale, 0 to 1.
 * @param {Axis} axis
 * @param {number} n
 * @returns {number}
 */
export function scaled(axis, n) {
  if (axis.max === axis.min) return 0.5;
  if (axis.log) {
    const lo = Math.log10(axis.min), hi = Math.log10(axis.max);
    return (Math.log10(n) - lo) / (hi - lo);
  }
  return (n - axis.min) / (axis.max - axis.min);
}

/**
 * The number at `t` (0 to 1) of a numeric axis's scale.
 * @param {Axis} axis
 * @param {number} t
 * @returns {number}
 */
export function unscaled(axis, t) {
  if (axis.log) {
    const lo = Math.log10(axis.min), hi = Math.log10(axis.max);
    return 10 ** (lo + t * (hi - lo));
  }
  return axis.min + t * (axis.max - axis.min);
}

/**
 * A brush on one axis, in its values: a numeric range (finite numbers from
 * `min` to `max`, both included) and the labels of the places it covers
 * (categories, and special places such as "None").
 * @typedef {object} Brush
 * @property {number | null} min
 * @property {number | null} max
 * @property {string[]} labels
 */

/**
 * The brush that covers the axis from `lo` to `hi` (0 to 1, bottom up).
 * @param {Axis} axis
 * @param {number} lo
 * @param {number} hi
 * @returns {Brush}
 */
export function brushBetween(axis, lo, hi) {
  const floor = axis.special.length > 0 ? SPECIAL_SHARE : 0;
  const labels = [];
  for (const place of axis.special) {
    const p = position(axis, place === "None" ? null : placeValue(place));
    if (p >= lo && p <= hi) labels.push(place);
  }
  if (axis.kind === "categorical") {
    for (const label of axis.categories) {
      const i = axis.categories.indexOf(label);
      const n = axis.categories.length;
      const p = floor + (1 - floor) * (n === 1 ? 0.5 : i / (n - 1));
      if (p >= lo && p <= hi) labels.push(label);
    }
    return { min: null, max: null, labels };
  }
  const a = Math.max(lo, floor), b = Math.min(hi, 1);
  if (a > b) return { min: null, max: null, labels };
  const t = (/** @type {number} */ p) => (p - floor) / (1 - floor);
  return {
    min: unscaled(axis, t(a)),
    max: unscaled(axis, t(b)),
    labels,
  };
}

/** @param {string} place */
function placeValue(place) {
  return place === "NaN" ? NaN : place === "inf" ? Infinity : -Infinity;
}

/**
 * Whether a brush holds `value`.
 * @param {Brush} brush
 * @param {unknown} value
 * @returns {boolean}
 */
export function inBrush(brush, value) {
  if (typeof value === "number" && Number.isFinite(value)) {
    if (brush.min !== null && brush.max !== null) {
      return value >= brush.min && value <= brush.max;
    }
  }
  const place = specialOf(value);
  const label = place ?? fmtValue(value);
  return brush.labels.includes(label);
}

/**
 * The rows every brush holds (brushes keyed by column index).
 * @param {readonly (readonly unknown[])[]} rows  Values by column.
 * @param {ReadonlyMap<number, Brush>} brushes
 * @returns {boolean[]}
 */
export function selectRows(rows, brushes) {
  const entries = [...brushes];
  return rows.map((row) =>
    entries.every(([column, brush]) => inBrush(brush, row[column]))
  );
}

/**
 * How runs are coloured by one field.
 * @typedef {object} Colouring
 * @property {(value: unknown) => string} colour
 * @property {{ label: string, colour: string }[]} legend  Categories, or a numeric range's stops.
 */

const LOW = [68, 1, 84];
const MID = [33, 145, 140];
const HIGH = [253, 231, 37];

/**
 * A colour from dark violet (0) through teal to yellow (1).
 * @param {number} t
 * @returns {string}
 */
export function ramp(t) {
  const c = Math.max(0, Math.min(1, t));
  const [a, b, u] = c < 0.5 ? [LOW, MID, c * 2] : [MID, HIGH, c * 2 - 1];
  const mix = a.map((x, i) => Math.round(x + ((b[i] ?? 0) - x) * u));
  return `rgb(${mix.join(", ")})`;
}

/** Grey for the values a colouring leaves out (None, beyond 20 categories). */
export const OTHER = "#9a9a9a";

/**
 * The colouring of `values`: a ramp for numbers (legend at five stops), a
 * palette colour per category (the 20 most common; the rest, and None,
 * grey).
 * @param {readonly unknown[]} values
 * @returns {Colouring}
 */
export function colouring(values) {
  const axis = buildAxis(values);
  if (axis.kind === "numeric") {
    const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => ({
      label: fmtValue(unscaled(axis, t)),
      colour: ramp(t),
    }));
    if (axis.special.length > 0) {
      stops.push({ label: axis.special.join(", "), colour: OTHER });
    }
    return {
      colour: (value) =>
        typeof value === "number" && Number.isFinite(value)
          ? ramp(scaled(axis, value))
          : OTHER,
      legend: stops,
    };
  }
  const counts = new Map();
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const label = fmtValue(value);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const kept = [...counts.keys()].sort((a, b) =>
    (counts.get(b) - counts.get(a)) || compareValues(a, b)
  ).slice(0, 20).sort(compareValues);
  const colours = new Map(kept.map((label, i) => [label, paletteColor(i)]));
  const legend = kept.map((label) => ({
    label,
    colour: /** @type {string} */ (colours.get(label)),
  }));
  if (counts.size > kept.length || values.some((v) => v === null)) {
    legend.push({
      label: counts.size > kept.length ? "other, None" : "None",
      colour: OTHER,
    });
  }
  return {
    colour: (value) =>
      value === null || value === undefined
        ? OTHER
        : colours.get(fmtValue(value)) ?? OTHER,
    legend,
  };
}

/**
 * CSV text (RFC 4180: fields with a comma, quote or line break quoted),
 * values as the API gives them: numbers as numbers, None as empty, lists
 * and dicts as JSON.
 * @param {readonly string[]} header
 * @param {readonly (readonly unknown[])[]} rows
 * @returns {string}
 */
export function toCsv(header, rows) {
  /** @param {unknown} value */
  const cell = (value) => {
    const text = value === null || value === undefined
      ? ""
      : typeof value === "object"
      ? JSON.stringify(value)
      : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\r\n") +
    "\r\n";
}
