// @ts-check
// The unit of a series, told by its name as `aim run` names system
// metrics (lib/tracking/system_metrics.ts: cpu_percent, rss_mb,
// processes, …), and how its values read with it: on an axis, whose ticks
// share one scale, and one by one.
// Pure: no DOM, so `deno test` imports it.

import { fmtNum } from "./format.js";

/**
 * How a series' values read.
 * @typedef {object} Unit
 * @property {string} label  What the unit is called: "%", "MB", "count"…
 * @property {boolean} integer  Values are whole numbers: ticks only at them.
 * @property {(value: number) => string} format  One value, with its unit.
 * @property {(values: number[], incr: number) => string[]} axis  Ticks
 *   `incr` apart, on one scale.
 */

/** Byte sizes, each 1024 of the one before. */
const SIZES = ["B", "KB", "MB", "GB", "TB", "PB"];

/**
 * Digits after the point that tell ticks `incr` apart.
 * @param {number} incr
 * @returns {number}
 */
function decimalsFor(incr) {
  if (!(incr > 0) || !Number.isFinite(incr)) return 0;
  return Math.max(0, Math.min(4, Math.ceil(-Math.log10(incr) - 1e-9)));
}

/** @type {Unit} */
const PERCENT = {
  label: "%",
  integer: false,
  format: (v) => `${Number(v.toFixed(Math.abs(v) < 10 ? 2 : 1))}%`,
  axis: (values, incr) => values.map((v) => `${v.toFixed(decimalsFor(incr))}%`),
};

/** @type {Unit} */
const COUNT = {
  label: "count",
  integer: true,
  format: (v) => Number.isInteger(v) ? String(v) : fmtNum(v),
  axis: (values) => values.map((v) => Number.isInteger(v) ? String(v) : ""),
};

/**
 * Sizes tracked in `base` (an index in {@link SIZES}), shown in the
 * largest unit under the value (for an axis, under its largest tick).
 * @param {number} base
 * @returns {Unit}
 */
function size(base) {
  /** @param {number} v  In the base unit. */
  const scaleOf = (v) => {
    let i = base;
    let shown = Math.abs(v);
    while (shown >= 1024 && i < SIZES.length - 1) shown /= 1024, i++;
    return { i, div: 1024 ** (i - base) };
  };
  return {
    label: /** @type {string} */ (SIZES[base]),
    integer: false,
    format: (v) => {
      const { i, div } = scaleOf(v);
      const shown = v / div;
      return `${Number(shown.toFixed(Math.abs(shown) < 10 ? 2 : 1))} ${
        SIZES[i]
      }`;
    },
    axis: (values, incr) => {
      const { i, div } = scaleOf(Math.max(...values.map(Math.abs)));
      const digits = decimalsFor(incr / div);
      return values.map((v) => `${(v / div).toFixed(digits)} ${SIZES[i]}`);
    },
  };
}

/**
 * The unit of series `name`, or null when its name does not tell.
 * @param {string} name
 * @returns {Unit | null}
 */
export function unitOf(name) {
  const n = name.toLowerCase();
  if (/(^|_)(percent|pct|utilization)$|%$/.test(n)) return PERCENT;
  const sized = /_(bytes|kb|mb|gb|tb)$/.exec(n)?.[1];
  if (sized) {
    return size(sized === "bytes" ? 0 : SIZES.indexOf(sized.toUpperCase()));
  }
  if (/^(processes|threads)$|_count$/.test(n)) return COUNT;
  return null;
}

/**
 * A value with its unit when known and the value is a finite number;
 * otherwise as any number reads.
 * @param {unknown} value
 * @param {Unit | null} unit
 * @returns {string}
 */
export function fmtIn(value, unit) {
  return unit && typeof value === "number" && Number.isFinite(value)
    ? unit.format(value)
    : fmtNum(value);
}

/**
 * Ticks that are whole numbers, 1, 2 and 5 times powers of ten: an axis
 * of steps, epochs or counts never shows 2.5.
 */
export const INTEGER_INCRS = [1, 2, 5].flatMap((m) =>
  Array.from({ length: 16 }, (_, e) => m * 10 ** e)
).sort((a, b) => a - b);

/** Ticks for seconds: fractions of a second, then minutes, hours and days. */
export const SECOND_INCRS = [
  0.001,
  0.002,
  0.005,
  0.01,
  0.02,
  0.05,
  0.1,
  0.2,
  0.5,
  1,
  2,
  5,
  10,
  15,
  30,
  60,
  120,
  300,
  600,
  900,
  1800,
  3600,
  7200,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86400,
  2 * 86400,
  7 * 86400,
  14 * 86400,
  30 * 86400,
  91 * 86400,
  365 * 86400,
];
